"""The webhook as Stripe drives it: replays, events out of order, stale signatures and payments
that do not match the booking. Events are either delivered by localstripe to the live server
(``stripe_webhook``) or taken from localstripe's event list and posted here, signed with our
secret exactly as Stripe signs them."""

from __future__ import annotations

import copy
import time
from decimal import Decimal

import pytest
from django_tasks_db.models import DBTaskResult

from boxoffice.booking.models import Booking, Ticket
from boxoffice.notifications.models import EmailNotification
from boxoffice.payments import gateway
from boxoffice.payments.models import Refund, StripeEvent
from tests.support.net import closed_url, wait_for
from tests.support.tasks import run_worker

from .conftest import booking_status
from .helpers import (
    GOOD_CARD,
    dumps,
    hold,
    intent_of,
    localstripe_event,
    localstripe_refunds,
    pay,
    post_event,
    sign,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_replayed_event_is_acknowledged_and_acts_once(
    api, customer_api, showtime, localstripe, no_webhook, smtp_server
):
    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    assert pay(booking["id"]) == "succeeded"
    # The very event localstripe emitted (its delivery went nowhere: see no_webhook).
    event = localstripe_event(localstripe, intent_id, "payment_intent.succeeded")
    payload = dumps(event)
    signature = sign(payload)

    first = post_event(api, payload, signature)
    assert first.status_code == 200, first.content
    assert first.json() == {"received": True, "outcome": "confirmed"}

    again = post_event(api, payload, signature)  # byte for byte the same delivery
    assert again.status_code == 200
    assert again.json() == {"received": True, "outcome": "duplicate"}
    # Stripe re-signs each delivery attempt with a new timestamp: still the same event.
    resigned = post_event(api, payload, sign(payload, timestamp=int(time.time()) + 1))
    assert resigned.json()["outcome"] == "duplicate"

    ledger = StripeEvent.objects.filter(event_id=event["id"])
    assert ledger.count() == 1
    assert ledger.get().outcome == "confirmed"
    assert booking_status(booking["id"]) == "confirmed"
    assert Ticket.objects.filter(booking_seat__booking_id=booking["id"]).count() == 2
    assert EmailNotification.objects.filter(booking_id=booking["id"]).count() == 1

    run_worker()
    assert len(inbox.messages) == 1
    assert "Metropolis" in inbox.messages[0]["Subject"]
    post_event(api, payload, sign(payload))
    run_worker()
    assert len(inbox.messages) == 1


def _late_event(succeeded: dict, type: str, status: str) -> dict:
    """An earlier attempt's event for the same intent, arriving after the success.

    Real Stripe can produce this order: a first attempt fails (``payment_failed``), the retry
    succeeds, and Stripe delivers the two events in any order. localstripe cannot confirm a
    PaymentIntent again after a decline, so the late event is built from the real one and
    signed with our webhook secret, as Stripe would sign it."""
    event = copy.deepcopy(succeeded)
    event["id"] = succeeded["id"] + "_late_" + type.rsplit(".", 1)[1]
    event["type"] = type
    event["created"] = succeeded["created"] - 5
    event["data"]["object"]["status"] = status
    return event


@pytest.mark.parametrize(
    ("type", "status"),
    [
        ("payment_intent.payment_failed", "requires_payment_method"),
        ("payment_intent.canceled", "canceled"),
    ],
)
def test_failure_event_after_success_never_moves_the_booking_back(
    api, customer_api, showtime, localstripe, no_webhook, type, status
):
    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    assert pay(booking["id"]) == "succeeded"
    succeeded = localstripe_event(localstripe, intent_id, "payment_intent.succeeded")
    assert post_event(api, dumps(succeeded)).json()["outcome"] == "confirmed"
    codes = set(
        Ticket.objects.filter(booking_seat__booking_id=booking["id"]).values_list("code", flat=True)
    )

    late = post_event(api, dumps(_late_event(succeeded, type, status)))
    assert late.status_code == 200
    assert late.json()["outcome"] == "recorded"

    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "confirmed"
    assert detail["paid_amount"] == "30.00"
    assert detail["refunded_amount"] == "0.00"
    assert {t["code"] for t in detail["tickets"]} == codes
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    assert [s["status"] for s in seats[:2]] == ["booked", "booked"]
    assert StripeEvent.objects.filter(payment_intent_id=intent_id).count() == 2


def test_stale_signature_is_refused(api, customer_api, showtime, localstripe, no_webhook):
    """A captured delivery replayed after the tolerance window fails verification, even though
    its signature is genuine: the timestamp is part of what is signed."""
    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    assert pay(booking["id"]) == "succeeded"
    payload = dumps(localstripe_event(localstripe, intent_id, "payment_intent.succeeded"))
    old = post_event(api, payload, sign(payload, timestamp=int(time.time()) - 3600))
    assert old.status_code == 400
    assert old.json()["errors"][0]["code"] == "invalid_signature"
    tampered = post_event(api, payload.replace(intent_id, intent_id + "x"), sign(payload))
    assert tampered.status_code == 400
    assert not StripeEvent.objects.exists()
    assert booking_status(booking["id"]) == "pending"


def _refused_payment_changed_nothing(client, booking: dict, showtime) -> None:  # type: ignore[no-untyped-def]
    row = Booking.objects.get(pk=booking["id"])
    assert row.status == "pending"
    assert row.paid_amount == Decimal("0.00")
    assert row.confirmed_at is None
    assert not Ticket.objects.filter(booking_seat__booking_id=booking["id"]).exists()
    assert not EmailNotification.objects.filter(booking_id=booking["id"]).exists()
    assert not Refund.objects.exists()
    assert not DBTaskResult.objects.exists()  # no receipt, no refund queued
    seats = client.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    assert [s["status"] for s in seats[:2]] == ["held", "held"]


def _stray_intent(booking_id: int, *, amount: int, currency: str = "usd") -> str:
    """A PaymentIntent naming our booking that our checkout did not create, paid."""
    intent = gateway.client().v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": currency,
            "metadata": {"booking_id": str(booking_id)},
            "payment_method_types": ["card"],
        }
    )
    assert gateway.pay_with_test_card(intent_id=intent.id, card=GOOD_CARD) == "succeeded"
    return intent.id


def _delivered_outcome(intent_id: str) -> tuple[str, str]:
    def settled() -> bool:
        return (
            StripeEvent.objects.filter(payment_intent_id=intent_id, type="payment_intent.succeeded")
            .exclude(outcome="")
            .exists()
        )

    wait_for(settled)
    event = StripeEvent.objects.get(payment_intent_id=intent_id)
    return event.outcome, event.reason


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(2999, "usd"), (300000, "usd"), (3000, "eur")],
    ids=["one-cent-short", "too-much", "wrong-currency"],
)
def test_payment_that_does_not_match_the_booking_total_is_refused(
    customer_api, showtime, stripe_webhook, amount, currency
):
    booking = hold(customer_api, showtime)  # total 30.00 usd
    # As if our checkout had died after Stripe created an intent but before we stored its id:
    # then the intent cannot be told apart by its id, and only the amount check stands.
    Booking.objects.filter(pk=booking["id"]).update(payment_intent_id="", payment_client_secret="")
    intent_id = _stray_intent(booking["id"], amount=amount, currency=currency)

    assert _delivered_outcome(intent_id) == ("mismatch", "amount")
    _refused_payment_changed_nothing(customer_api, booking, showtime)
    assert Booking.objects.get(pk=booking["id"]).payment_intent_id == ""


def test_payment_of_a_foreign_intent_naming_our_booking_is_refused(
    customer_api, showtime, stripe_webhook
):
    booking = hold(customer_api, showtime)
    own = intent_of(booking["id"])
    intent_id = _stray_intent(booking["id"], amount=3000)  # right amount, not our intent

    assert _delivered_outcome(intent_id) == ("mismatch", "intent")
    _refused_payment_changed_nothing(customer_api, booking, showtime)

    # The booking's own intent still pays it.
    assert pay(booking["id"]) == "succeeded"
    assert _delivered_outcome(own) == ("confirmed", "")
    assert booking_status(booking["id"]) == "confirmed"


def test_payment_after_the_customer_cancelled_is_refunded(
    customer_api, showtime, stripe_webhook, localstripe
):
    """A customer cancels a pending booking, then pays from a stale checkout page: nobody pays
    for a seat they did not get. The cancel endpoint also cancels the PaymentIntent, but only
    as best effort (Stripe may be unreachable at that moment, or the payment may be in flight),
    so the booking is cancelled here through the service alone, as when that step failed."""
    from boxoffice.booking.services import cancel_booking

    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    row = Booking.objects.get(pk=booking["id"])
    cancel_booking(booking=row, by=row.user)
    assert pay(booking["id"]) == "succeeded"

    assert _delivered_outcome(intent_id) == ("refunding", "paid_after_cancel")
    row = Booking.objects.get(pk=booking["id"])
    assert (row.status, row.paid_amount, row.refunded_amount) == (
        "cancelled",
        Decimal("30.00"),
        Decimal("0.00"),
    )
    run_worker()
    assert [r["amount"] for r in localstripe_refunds(localstripe, intent_id)] == [3000]
    assert Booking.objects.get(pk=booking["id"]).refunded_amount == Decimal("30.00")
    assert not Ticket.objects.filter(booking_seat__booking_id=booking["id"]).exists()


def _signed_succeeded_event(event_id: str, intent_id: str) -> str:
    return dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": intent_id, "object": "payment_intent"}},
        }
    )


def test_event_for_an_intent_stripe_does_not_know_is_refused_not_a_500(api, no_webhook):
    api.raise_request_exception = False  # a 500 should come back as a response, if any
    response = post_event(api, _signed_succeeded_event("evt_unknown", "pi_doesnotexist"))
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "mismatch:unknown_intent"
    unknown = StripeEvent.objects.get(event_id="evt_unknown")
    assert (unknown.outcome, unknown.reason) == ("mismatch", "unknown_intent")


def test_an_event_that_failed_mid_handling_is_not_swallowed_by_its_retry(
    api, customer_api, showtime, no_webhook, monkeypatch
):
    """Stripe retries a delivery we answered with an error; that retry must act, not be
    acknowledged as a duplicate of the failed attempt."""
    from boxoffice.payments import services

    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    assert pay(booking["id"]) == "succeeded"
    payload = _signed_succeeded_event("evt_flaky", intent_id)

    def boom(intent_id: str) -> str:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "settle_payment_intent", boom)
    api.raise_request_exception = False
    assert post_event(api, payload).status_code == 500
    assert not StripeEvent.objects.filter(event_id="evt_flaky").exists()

    monkeypatch.undo()
    retry = post_event(api, payload)
    assert retry.status_code == 200
    assert retry.json()["outcome"] == "confirmed"
    assert booking_status(booking["id"]) == "confirmed"


def test_stripe_unreachable_while_verifying_is_503_and_the_retry_acts(
    api, customer_api, showtime, localstripe, no_webhook, settings
):
    """The event is a trigger: we re-fetch the intent. If Stripe cannot be reached for that,
    the delivery fails (503) unrecorded, so Stripe's retry settles it. (localstripe never
    retries a delivery; the test plays the retry.)"""
    booking = hold(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    assert pay(booking["id"]) == "succeeded"
    payload = dumps(localstripe_event(localstripe, intent_id, "payment_intent.succeeded"))

    settings.STRIPE_API_BASE = closed_url("")
    api.raise_request_exception = False
    down = post_event(api, payload)
    assert down.status_code == 503
    assert down.json()["errors"][0]["code"] == "payments_unavailable"
    assert not StripeEvent.objects.exists()
    assert booking_status(booking["id"]) == "pending"

    settings.STRIPE_API_BASE = localstripe
    assert post_event(api, payload).json()["outcome"] == "confirmed"
    assert booking_status(booking["id"]) == "confirmed"

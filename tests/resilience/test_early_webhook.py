"""A webhook that arrives before the booking has stored its PaymentIntent id.

The pay step (``POST /bookings/{id}/pay/``) opens the PaymentIntent and only then stores it on
the booking; a payment and its signed ``payment_intent.succeeded`` event can land in between.
Reproduced by opening the intent through the gateway directly (the booking's
``payment_intent_id`` is still empty), paying it in localstripe and delivering localstripe's
own event, signed, to the webhook. Then the pay step's own store runs late, as it would, and
must not undo anything."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking, Ticket
from boxoffice.core.errors import Conflict
from boxoffice.core.money import to_minor_units
from boxoffice.payments import gateway
from boxoffice.payments import services as payment_services
from boxoffice.payments.models import StripeEvent
from tests.payments.helpers import (
    GOOD_CARD,
    dumps,
    localstripe_event,
    localstripe_refunds,
    post_event,
)
from tests.support.stripe import localstripe_list

pytestmark = [pytest.mark.resilience, pytest.mark.django_db(transaction=True)]


def test_webhook_before_the_intent_id_is_stored(
    api, customer, customer_api, showtime, localstripe, record
):  # type: ignore[no-untyped-def]
    record.update(
        scenario="Webhook before the booking stored its PaymentIntent id",
        how=(
            "hold, PaymentIntent opened via the gateway (id not stored), paid in localstripe, "
            "its signed payment_intent.succeeded posted to the webhook; then the pay step's "
            "store (attach_payment) runs late, and a whole late pay step; the event delivered "
            "again"
        ),
    )
    seats = list(showtime.screen.seats.order_by("pk").values_list("pk", flat=True)[:2])
    booking = booking_services.create_hold(user=customer, showtime=showtime, seat_ids=seats)
    intent = gateway.create_payment_intent(
        booking_id=booking.pk,
        amount_minor=to_minor_units(booking.total, booking.currency),
        currency=booking.currency,
    )
    assert Booking.objects.get(pk=booking.pk).payment_intent_id == ""
    assert gateway.pay_with_test_card(intent_id=intent.id, card=GOOD_CARD) == "succeeded"

    event = dumps(localstripe_event(localstripe, intent.id, "payment_intent.succeeded"))
    response = post_event(api, event)
    assert response.status_code == 200, response.content

    stored = Booking.objects.get(pk=booking.pk)
    first = (stored.status, stored.payment_intent_id, stored.paid_amount)
    assert first == ("confirmed", intent.id, booking.total)
    assert Ticket.objects.filter(booking_seat__booking=booking).count() == 2

    # The pay request, still running, now stores the intent it opened: refused (the booking
    # is no longer payable), and nothing changes.
    with pytest.raises(Conflict):
        booking_services.attach_payment(
            booking=booking, intent_id=intent.id, client_secret=intent.client_secret
        )
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.payment_intent_id, stored.paid_amount) == first
    assert stored.payment_client_secret == ""

    # A whole pay step that read the booking before the payment (so it opens an intent):
    # localstripe ignores idempotency keys, so this is a second intent (Stripe would return
    # the same one). Its store is refused and the stray intent is closed again.
    def intents() -> set[str]:
        return {
            pi["id"]
            for pi in localstripe_list(localstripe, "payment_intents")
            if (pi.get("metadata") or {}).get("booking_id") == str(booking.pk)
        }

    before = intents()
    late = Booking.objects.get(pk=booking.pk)
    late.status, late.payment_intent_id = "pending", ""
    with pytest.raises(Conflict):
        payment_services.start_payment(booking=late)
    stray = sorted(intents() - before)
    assert len(stray) == 1
    assert gateway.retrieve_payment_intent(stray[0]).status == "canceled"
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.payment_intent_id, stored.paid_amount) == first
    # And over HTTP the customer is told there is nothing to pay.
    again = customer_api.post(f"/api/v1/bookings/{booking.pk}/pay/")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "not_payable"

    # Stripe delivering the event again changes nothing either.
    assert post_event(api, event).status_code == 200
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.payment_intent_id, stored.paid_amount) == first
    assert StripeEvent.objects.get().outcome == "confirmed"
    assert Ticket.objects.filter(booking_seat__booking=booking).count() == 2
    assert localstripe_refunds(localstripe, intent.id) == []
    shown = customer_api.get(f"/api/v1/bookings/{booking.pk}/").json()
    assert shown["status"] == "confirmed"
    assert len(shown["tickets"]) == 2
    assert Decimal(shown["refunded_amount"]) == 0
    record["figures"] = {
        "webhook_answer": response.status_code,
        "booking": "confirmed, payment_intent_id filled in by the webhook",
        "late_attach_changed_booking": False,
        "late_pay_step": "409, its stray intent cancelled",
        "replayed_event": "duplicate, nothing changed",
        "bookings_lost": 0,
        "refunds": 0,
    }

"""Cancelling some seats of a booking (issue 17): ``POST /bookings/{id}/cancel/ {"seats": [...]}``.

A confirmed booking is refunded exactly the cancelled seats' frozen prices, through Stripe
(localstripe), one refund per cancellation; the seats are free at once, their tickets no longer
admit, each gains ``cancelled_at``; the booking stays confirmed while it keeps a seat. A pending
booking releases the seats and its total follows, until its payment is open. Bad seat lists are
400s that change nothing. Every test ends with the invariant sweep."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from boxoffice.booking.models import Booking, BookingSeat, Ticket
from boxoffice.payments import services as payments
from boxoffice.payments.models import Refund
from tests.invariants import assert_money_invariant
from tests.support.net import closed_url
from tests.support.tasks import run_worker

from .helpers import confirmed_booking, hold_only, intent_of, localstripe_refunds, start_paying

pytestmark = pytest.mark.django_db(transaction=True)

CHECKIN = "/api/v1/checkin/"


def sweep() -> None:
    """The invariant sweep (its SQL is PostgreSQL's); on SQLite the ORM's twin of the money
    rule, after the worker's refunds."""
    if connection.vendor == "postgresql":
        assert_money_invariant()
        return
    run_worker()
    assert not Booking.objects.breaking_money_invariant().exists()


def cancel(client, booking_id: int, seats=None):  # type: ignore[no-untyped-def]
    body = None if seats is None else {"seats": seats}
    return client.post(f"/api/v1/bookings/{booking_id}/cancel/", body, format="json")


def seat_status(client, showtime_id: int) -> dict[int, str]:  # type: ignore[no-untyped-def]
    seats = client.get(f"/api/v1/showtimes/{showtime_id}/seats/").json()["seats"]
    return {s["id"]: s["status"] for s in seats}


def code_of(booking_id: int, seat_id: int) -> str:
    return Ticket.objects.get(
        booking_seat__booking_id=booking_id, booking_seat__seat_id=seat_id
    ).code


def test_cancelling_one_seat_of_a_paid_booking_refunds_exactly_its_price(
    customer_api, admin_api, showtime, localstripe, no_webhook
):
    booking = confirmed_booking(customer_api, showtime, n=3)
    first, second, third = (s["id"] for s in booking["seats"])
    price = Decimal(booking["seats"][1]["price"])

    answer = cancel(customer_api, booking["id"], [second])

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "confirmed"
    assert Decimal(body["total"]) == Decimal(booking["total"]) - price
    cancelled = {s["id"]: s["cancelled_at"] for s in body["seats"]}
    assert cancelled[first] is None
    assert cancelled[third] is None
    assert cancelled[second] is not None
    assert sorted(t["seat"] for t in body["tickets"]) == sorted(
        s["label"] for s in booking["seats"] if s["id"] != second
    )
    # Free at once; its ticket no longer admits, the others still do.
    assert seat_status(customer_api, showtime.pk)[second] == "available"
    run_worker()
    row = Booking.objects.get(pk=booking["id"])
    assert (row.status, row.refunded_amount) == ("confirmed", price)
    refund = Refund.objects.get(booking=row)
    assert (refund.reason, refund.amount, refund.status) == (
        f"seats-{BookingSeat.objects.get(booking=row, seat_id=second).pk}",
        price,
        "succeeded",
    )
    made = localstripe_refunds(localstripe, intent_of(row.pk))
    assert [r["amount"] for r in made] == [int(price * 100)]
    sweep()


def test_cancelling_the_seats_one_by_one_ends_the_booking_with_everything_refunded(
    customer_api, showtime, localstripe, no_webhook
):
    booking = confirmed_booking(customer_api, showtime, n=3)
    ids = [s["id"] for s in booking["seats"]]
    assert cancel(customer_api, booking["id"], [ids[0]]).json()["status"] == "confirmed"
    run_worker()  # the first refund is made before the next cancellation
    assert cancel(customer_api, booking["id"], [ids[1]]).json()["status"] == "confirmed"
    last = cancel(customer_api, booking["id"], [ids[2]])
    assert last.status_code == 200, last.content
    assert last.json()["status"] == "cancelled"
    assert all(s["cancelled_at"] for s in last.json()["seats"])
    run_worker()
    row = Booking.objects.get(pk=booking["id"])
    assert row.refunded_amount == row.paid_amount == Decimal(booking["total"])
    made = localstripe_refunds(localstripe, intent_of(row.pk))
    assert sum(r["amount"] for r in made) == int(row.paid_amount * 100)
    assert len(made) == 3
    sweep()


def test_a_cancelled_seats_ticket_is_refused_at_the_door(
    customer_api, admin_api, make_showtime, localstripe, no_webhook
):
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))  # doors open
    booking = confirmed_booking(customer_api, show, n=2)
    gone, kept = (s["id"] for s in booking["seats"])
    gone_code, kept_code = code_of(booking["id"], gone), code_of(booking["id"], kept)
    assert cancel(customer_api, booking["id"], [gone]).status_code == 200
    assert admin_api.post(CHECKIN, {"code": gone_code}, format="json").status_code == 404
    # nor is its QR code served any more (the kept seat's still is)
    qr = f"/api/v1/bookings/{booking['id']}/tickets/{{}}/qr.png"
    assert customer_api.get(qr.format(gone_code)).status_code == 404
    assert customer_api.get(qr.format(kept_code)).status_code == 200
    assert admin_api.post(CHECKIN, {"code": kept_code}, format="json").status_code == 200
    sweep()


def test_the_checked_in_rule_is_per_seat(
    customer_api, admin_api, admin_user, make_showtime, localstripe, no_webhook
):
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    booking = confirmed_booking(customer_api, show, n=3)
    used, unused, other = booking["seats"]
    admitted = admin_api.post(CHECKIN, {"code": code_of(booking["id"], used["id"])}, format="json")
    assert admitted.status_code == 200

    # The unused seats of a booking with a used ticket still cancel...
    assert cancel(customer_api, booking["id"], [unused["id"]]).status_code == 200
    # ...but not the used one, alone or with another: 409 naming it, nothing changed.
    for seats in ([used["id"]], [used["id"], other["id"]]):
        refused = cancel(customer_api, booking["id"], seats)
        assert refused.status_code == 409, refused.content
        error = refused.json()["errors"][0]
        assert error["code"] == "checked_in"
        assert used["label"] in error["detail"]
    assert seat_status(customer_api, show.pk)[other["id"]] == "booked"
    # The whole booking neither (it includes the used seat).
    assert cancel(customer_api, booking["id"]).json()["errors"][0]["code"] == "checked_in"
    # An admin may, and the answer names the used seat.
    by_admin = cancel(admin_api, booking["id"], [used["id"]])
    assert by_admin.status_code == 200, by_admin.content
    assert by_admin.json()["checked_in_seats"] == [used["label"]]
    assert by_admin.json()["status"] == "confirmed"
    sweep()


def test_the_cut_off_applies_to_some_seats_too(
    customer_api, make_showtime, localstripe, no_webhook
):
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    booking = confirmed_booking(customer_api, show, n=2)
    refused = cancel(customer_api, booking["id"], [booking["seats"][0]["id"]])
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "cancellation_closed"
    assert Booking.objects.get(pk=booking["id"]).total == Decimal(booking["total"])


@pytest.mark.parametrize(
    ("seats", "code"),
    [
        ("foreign", "not_in_booking"),
        ("cancelled", "seat_cancelled"),
        ("empty", "empty"),
        ("twice", "duplicate"),
    ],
)
def test_a_bad_seat_list_is_a_400_that_changes_nothing(
    customer_api, showtime, localstripe, no_webhook, seats, code
):
    booking = confirmed_booking(customer_api, showtime, n=3)
    ids = [s["id"] for s in booking["seats"]]
    assert cancel(customer_api, booking["id"], [ids[2]]).status_code == 200
    taken = {pk for pk, status in seat_status(customer_api, showtime.pk).items() if status}
    foreign = max(taken) + 1000
    body = {
        "foreign": [ids[0], foreign],
        "cancelled": [ids[0], ids[2]],
        "empty": [],
        "twice": [ids[0], ids[0]],
    }[seats]
    before = Booking.objects.values("total", "status").get(pk=booking["id"])

    answer = cancel(customer_api, booking["id"], body)

    assert answer.status_code == 400, answer.content
    (error,) = answer.json()["errors"]
    assert (error["code"], error["attr"]) == (code, "seats")
    if seats == "foreign":
        assert str(foreign) in error["detail"]
    if seats == "cancelled":
        assert booking["seats"][2]["label"] in error["detail"]
    assert Booking.objects.values("total", "status").get(pk=booking["id"]) == before
    assert seat_status(customer_api, showtime.pk)[ids[0]] == "booked"
    run_worker()
    sweep()


def test_releasing_some_seats_of_a_hold_recomputes_its_total_until_the_payment_opens(
    customer_api, showtime, localstripe, no_webhook
):
    booking = hold_only(customer_api, showtime, n=3)
    ids = [s["id"] for s in booking["seats"]]
    price = Decimal(booking["seats"][0]["price"])

    answer = cancel(customer_api, booking["id"], [ids[0]])

    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "pending"
    assert Decimal(answer.json()["total"]) == Decimal(booking["total"]) - price
    assert seat_status(customer_api, showtime.pk)[ids[0]] == "available"
    # The payment is opened for the new total...
    assert start_paying(customer_api, booking["id"]).status_code == 200
    intent = payments.gateway.retrieve_payment_intent(intent_of(booking["id"]))
    assert intent.amount == int(Decimal(answer.json()["total"]) * 100)
    # ...and from then on some seats cannot be released alone; the whole booking can.
    refused = cancel(customer_api, booking["id"], [ids[1]])
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "payment_open"
    assert seat_status(customer_api, showtime.pk)[ids[1]] == "held"
    whole = cancel(customer_api, booking["id"], [ids[1], ids[2]])
    assert whole.status_code == 200
    assert whole.json()["status"] == "cancelled"
    run_worker()
    sweep()


def test_a_partial_refund_that_failed_is_made_once_by_reconciliation(
    customer_api, showtime, localstripe, no_webhook, settings
):
    booking = confirmed_booking(customer_api, showtime, n=2)
    seat = booking["seats"][0]
    settings.STRIPE_API_BASE = closed_url("")
    assert cancel(customer_api, booking["id"], [seat["id"]]).status_code == 200
    run_worker()  # Stripe is down: the refund waits (its row is pending)
    assert Refund.objects.get(booking_id=booking["id"]).status == "pending"
    settings.STRIPE_API_BASE = localstripe

    payments.reconcile()
    payments.reconcile()  # a second run finds nothing owed
    row = Booking.objects.get(pk=booking["id"])
    assert row.refunded_amount == Decimal(seat["price"])
    made = localstripe_refunds(localstripe, intent_of(row.pk))
    assert [r["amount"] for r in made] == [int(Decimal(seat["price"]) * 100)]
    # The queued retry later finds it made.
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    assert len(localstripe_refunds(localstripe, intent_of(row.pk))) == 1
    sweep()

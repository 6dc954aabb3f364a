"""Exchanging a confirmed booking (issue 17): ``POST /bookings/{id}/exchange/ {showtime, seats}``.

Through the API, with localstripe for the money: a cheaper exchange completes at once and the
difference is refunded against the old booking's payment; a dearer one is pending with
``amount_due``, paid through the pay step, and completes when the payment is recorded; a lapsed
exchange changes nothing; the 409s; cancelling an exchanged-into booking refunds its credit from
the old payment. Every test ends with the invariant sweep (the exchange chain included)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from boxoffice.booking.models import Booking, Ticket
from boxoffice.payments import gateway
from boxoffice.payments import services as payments
from tests.conftest import future
from tests.invariants import assert_money_invariant
from tests.support.tasks import run_worker

from .helpers import (
    GOOD_CARD,
    confirmed_booking,
    expire_hold,
    hold_only,
    intent_of,
    localstripe_refunds,
    start_paying,
)

pytestmark = pytest.mark.django_db(transaction=True)

CHECKIN = "/api/v1/checkin/"


def sweep() -> None:
    if connection.vendor == "postgresql":
        assert_money_invariant()
        return
    run_worker()
    assert not Booking.objects.breaking_money_invariant().exists()


def exchange(client, booking_id: int, showtime_id: int, seats: list[int]):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/bookings/{booking_id}/exchange/",
        {"showtime": showtime_id, "seats": seats},
        format="json",
    )


def free_seats(client, showtime_id: int, n: int, row: str | None = None) -> list[int]:  # type: ignore[no-untyped-def]
    seats = client.get(f"/api/v1/showtimes/{showtime_id}/seats/").json()["seats"]
    return [
        s["id"]
        for s in seats
        if s["status"] == "available"
        and s["tier"] == "standard"
        and (row is None or s["row"] == row)
    ][:n]


def status_of(client, showtime_id: int) -> dict[int, str]:  # type: ignore[no-untyped-def]
    seats = client.get(f"/api/v1/showtimes/{showtime_id}/seats/").json()["seats"]
    return {s["id"]: s["status"] for s in seats}


@pytest.fixture
def later(make_showtime):  # type: ignore[no-untyped-def]
    return make_showtime(starts_at=future(days=2))


def test_a_cheaper_exchange_completes_at_once_and_refunds_the_difference(
    customer_api, admin_api, showtime, later, localstripe, no_webhook
):
    old = confirmed_booking(customer_api, showtime, n=2)
    old_seats = [s["id"] for s in old["seats"]]
    codes = list(
        Ticket.objects.filter(booking_seat__booking_id=old["id"]).values_list("code", flat=True)
    )
    (seat,) = free_seats(customer_api, later.pk, 1, row="C")

    answer = exchange(customer_api, old["id"], later.pk, [seat])

    assert answer.status_code == 201, answer.content
    new = answer.json()
    assert new["status"] == "confirmed"
    assert new["exchange_of"] == old["id"]
    assert Decimal(new["credit"]) == Decimal(old["total"])
    assert new["amount_due"] == "0.00"
    assert len(new["tickets"]) == 1
    was = customer_api.get(f"/api/v1/bookings/{old['id']}/").json()
    assert was["status"] == "exchanged"
    assert was["tickets"] == []
    assert all(status_of(customer_api, showtime.pk)[s] == "available" for s in old_seats)
    assert status_of(customer_api, later.pk)[seat] == "booked"
    for code in codes:  # the old tickets no longer admit
        assert admin_api.post(CHECKIN, {"code": code}, format="json").status_code == 404
    run_worker()
    difference = Decimal(new["credit"]) - Decimal(new["total"])
    row = Booking.objects.get(pk=new["id"])
    assert row.refunded_amount == difference
    made = localstripe_refunds(localstripe, intent_of(old["id"]))
    assert [r["amount"] for r in made] == [int(difference * 100)]
    sweep()


def test_a_dearer_exchange_is_paid_for_its_amount_due_then_completes(
    customer_api, showtime, later, localstripe, no_webhook
):
    old = confirmed_booking(customer_api, showtime, n=2)
    seats = free_seats(customer_api, later.pk, 4, row="C")

    answer = exchange(customer_api, old["id"], later.pk, seats)

    assert answer.status_code == 201, answer.content
    new = answer.json()
    assert new["status"] == "pending"
    due = Decimal(new["total"]) - Decimal(old["total"])
    assert Decimal(new["amount_due"]) == due
    # The old booking is untouched until the new one is paid.
    assert customer_api.get(f"/api/v1/bookings/{old['id']}/").json()["status"] == "confirmed"
    assert start_paying(customer_api, new["id"]).status_code == 200
    intent = gateway.retrieve_payment_intent(intent_of(new["id"]))
    assert intent.amount == int(due * 100)
    assert gateway.pay_with_test_card(intent_id=intent.id, card=GOOD_CARD) == "succeeded"
    assert payments.settle_payment_intent(intent.id).outcome == "confirmed"

    now = customer_api.get(f"/api/v1/bookings/{new['id']}/").json()
    assert (now["status"], now["paid_amount"]) == ("confirmed", str(due))
    assert len(now["tickets"]) == 4
    assert customer_api.get(f"/api/v1/bookings/{old['id']}/").json()["status"] == "exchanged"
    run_worker()
    assert localstripe_refunds(localstripe, intent_of(old["id"])) == []
    sweep()


def test_a_lapsed_exchange_changes_nothing_for_the_old_booking(
    customer_api, showtime, later, localstripe, no_webhook
):
    old = confirmed_booking(customer_api, showtime, n=1)
    new = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 2)).json()
    assert new["status"] == "pending"
    expire_hold(new["id"])
    assert customer_api.get(f"/api/v1/bookings/{new['id']}/").json()["status"] == "expired"
    assert customer_api.get(f"/api/v1/bookings/{old['id']}/").json()["status"] == "confirmed"
    # And the old booking can still be exchanged or cancelled.
    again = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 1))
    assert again.status_code == 201, again.content
    sweep()


def test_a_pending_exchange_whose_old_booking_was_cancelled_refunds_its_payment(
    customer_api, showtime, later, localstripe, no_webhook
):
    old = confirmed_booking(customer_api, showtime, n=1)
    new = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 2)).json()
    assert start_paying(customer_api, new["id"]).status_code == 200
    assert customer_api.post(f"/api/v1/bookings/{old['id']}/cancel/").status_code == 200
    assert gateway.pay_with_test_card(intent_id=intent_of(new["id"]), card=GOOD_CARD) == "succeeded"
    result = payments.settle_payment_intent(intent_of(new["id"]))
    assert (result.outcome, result.reason) == ("refunding", "exchange_void")
    run_worker()
    row = Booking.objects.get(pk=new["id"])
    assert (row.status, row.refunded_amount) == ("cancelled", row.paid_amount)
    sweep()


def test_cancelling_an_exchanged_into_booking_refunds_the_credit_from_the_old_payment(
    customer_api, showtime, later, localstripe, no_webhook
):
    old = confirmed_booking(customer_api, showtime, n=2)
    new = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 2, "C"))
    assert new.json()["status"] == "confirmed", new.content
    run_worker()
    cancelled = customer_api.post(f"/api/v1/bookings/{new.json()['id']}/cancel/")
    assert cancelled.status_code == 200
    run_worker()
    made = localstripe_refunds(localstripe, intent_of(old["id"]))
    assert sum(r["amount"] for r in made) == int(Decimal(old["total"]) * 100)
    sweep()


@pytest.mark.parametrize("case", ["not_confirmed", "currency_mismatch", "cutoff", "seats_taken"])
def test_refusals(customer_api, make_showtime, showtime, localstripe, no_webhook, case):  # type: ignore[no-untyped-def]
    target = showtime
    if case == "not_confirmed":
        booking = hold_only(customer_api, showtime, n=1)
        seats = free_seats(customer_api, showtime.pk, 1, "C")
    else:
        booking = confirmed_booking(customer_api, showtime, n=1)
        seats = free_seats(customer_api, showtime.pk, 1, "C")
    if case == "currency_mismatch":
        target = make_showtime(starts_at=future(days=3), currency="eur")
        seats = free_seats(customer_api, target.pk, 1)
    if case == "cutoff":
        from boxoffice.schedule.models import Showtime

        soon = timezone.now() + timedelta(minutes=30)
        Showtime.objects.filter(pk=showtime.pk).update(
            starts_at=soon, ends_at=soon + timedelta(hours=2)
        )
    if case == "seats_taken":
        seats = [booking["seats"][0]["id"]]  # its own seat: taken until the exchange completes
    answer = exchange(customer_api, booking["id"], target.pk, seats)
    assert answer.status_code == 409, answer.content
    assert answer.json()["errors"][0]["code"] == case
    # Nothing changed: no new booking, the seats asked for still free (or still the old ones').
    assert not Booking.objects.filter(exchange_of_id=booking["id"]).exists()
    sweep()


def test_checked_in_refuses_a_customer_not_an_admin(
    customer_api, admin_api, make_showtime, localstripe, no_webhook
):
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    later = make_showtime(starts_at=future(days=2))
    booking = confirmed_booking(customer_api, show, n=2)
    code = Ticket.objects.filter(booking_seat__booking_id=booking["id"]).values_list(
        "code", flat=True
    )[0]
    assert admin_api.post(CHECKIN, {"code": code}, format="json").status_code == 200
    seats = free_seats(customer_api, later.pk, 2, "C")
    refused = exchange(customer_api, booking["id"], later.pk, seats)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["code"] == "checked_in"
    by_admin = exchange(admin_api, booking["id"], later.pk, seats)
    assert by_admin.status_code == 201, by_admin.content
    assert by_admin.json()["status"] == "confirmed"
    sweep()


def test_a_pending_exchange_whose_old_ticket_was_used_meanwhile_refunds_its_payment(
    customer_api, admin_api, make_showtime, localstripe, no_webhook
):
    """Review finding: the door admitted an old ticket while the dearer exchange waited for its
    payment. A used ticket is not credit: the payment is refunded, the old booking stays."""
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    later = make_showtime(starts_at=future(days=2))
    old = confirmed_booking(customer_api, show, n=1)
    new = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 3)).json()
    assert new["status"] == "pending"
    assert start_paying(customer_api, new["id"]).status_code == 200
    code = Ticket.objects.filter(booking_seat__booking_id=old["id"]).values_list("code", flat=True)[
        0
    ]
    assert admin_api.post(CHECKIN, {"code": code}, format="json").status_code == 200
    assert gateway.pay_with_test_card(intent_id=intent_of(new["id"]), card=GOOD_CARD) == "succeeded"

    result = payments.settle_payment_intent(intent_of(new["id"]))

    assert (result.outcome, result.reason) == ("refunding", "exchange_void")
    assert customer_api.get(f"/api/v1/bookings/{old['id']}/").json()["status"] == "confirmed"
    run_worker()
    row = Booking.objects.get(pk=new["id"])
    assert (row.status, row.refunded_amount) == ("cancelled", row.paid_amount)
    sweep()


def test_a_pending_exchange_is_released_whole_or_not_at_all(
    customer_api, showtime, later, localstripe, no_webhook
):
    """Review finding: released seat by seat, a pending exchange could fall below its credit
    (amount due 0, never payable). Some seats: 409 exchange_pending, nothing changes; all: fine."""
    old = confirmed_booking(customer_api, showtime, n=1)
    new = exchange(customer_api, old["id"], later.pk, free_seats(customer_api, later.pk, 3)).json()
    assert new["status"] == "pending"
    some = [seat["id"] for seat in new["seats"][:2]]

    refused = customer_api.post(
        f"/api/v1/bookings/{new['id']}/cancel/", {"seats": some}, format="json"
    )

    assert refused.status_code == 409, refused.content
    assert refused.json()["errors"][0]["code"] == "exchange_pending"
    after = customer_api.get(f"/api/v1/bookings/{new['id']}/").json()
    assert (after["status"], after["total"], len(after["seats"])) == (
        "pending",
        new["total"],
        3,
    )
    whole = customer_api.post(f"/api/v1/bookings/{new['id']}/cancel/")
    assert whole.status_code == 200, whole.content
    assert customer_api.get(f"/api/v1/bookings/{old['id']}/").json()["status"] == "confirmed"
    sweep()

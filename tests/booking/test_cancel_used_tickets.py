"""A ticket that has been through the door is not money to give back: its customer cannot
cancel the booking (409 ``checked_in``), even though doors open (120 min) before the customer's
cut-off (60 min); an admin still can, and the answer names the used seats. Pages follow the same
rule (:func:`boxoffice.booking.rules.cancel_refusal`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from boxoffice.booking import services
from boxoffice.booking.models import Booking, Ticket
from tests.conftest import bearer

from .helpers import seat_ids

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/checkin/"


@pytest.fixture
def paid_in_the_door_window(make_showtime, customer):  # type: ignore[no-untyped-def]
    """A paid two-seat booking for a show 90 minutes away: doors are open, and the customer's
    cut-off (60 minutes) has not passed."""
    showtime = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    booking = services.create_hold(
        user=customer, showtime=showtime, seat_ids=seat_ids(showtime, "C3", "C4")
    )
    services.record_payment(booking=booking, amount=booking.total)
    return booking


def _codes(booking: Booking) -> list[str]:
    return list(
        Ticket.objects.filter(booking_seat__booking=booking)
        .order_by("booking_seat__seat__number")
        .values_list("code", flat=True)
    )


def test_the_customer_cannot_cancel_once_a_ticket_was_used(
    paid_in_the_door_window, customer_api, admin_api
):
    booking = paid_in_the_door_window
    assert admin_api.post(CHECKIN, {"code": _codes(booking)[0]}, format="json").status_code == 200

    answer = customer_api.post(f"/api/v1/bookings/{booking.pk}/cancel/")

    assert answer.status_code == 409, answer.content
    error = answer.json()["errors"][0]
    assert error["code"] == "checked_in"
    assert "C3" in error["detail"]
    booking.refresh_from_db()
    assert booking.status == "confirmed"
    assert booking.refunded_amount == 0
    # Nothing was freed: the seat map still shows both seats sold.
    seats = customer_api.get(f"/api/v1/showtimes/{booking.showtime_id}/seats/").json()["seats"]
    assert {s["label"]: s["status"] for s in seats if s["label"] in ("C3", "C4")} == {
        "C3": "booked",
        "C4": "booked",
    }


def test_unused_tickets_in_the_same_window_still_cancel(paid_in_the_door_window, customer_api):
    booking = paid_in_the_door_window
    answer = customer_api.post(f"/api/v1/bookings/{booking.pk}/cancel/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["checked_in_seats"] == []


def test_an_admin_may_cancel_and_the_answer_names_the_used_seat(
    paid_in_the_door_window, admin_api, admin_user
):
    booking = paid_in_the_door_window
    code = _codes(booking)[1]
    admitted = admin_api.post(CHECKIN, {"code": code}, format="json")
    assert admitted.status_code == 200
    detail = admin_api.get(f"/api/v1/bookings/{booking.pk}/").json()
    assert [t["checked_in_at"] is not None for t in detail["tickets"]] == [False, True]

    answer = bearer(admin_user).post(f"/api/v1/bookings/{booking.pk}/cancel/")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "cancelled"
    assert body["checked_in_seats"] == ["C4"]
    # The refund is owed in full (the worker pays it through Stripe).
    booking.refresh_from_db()
    assert booking.cancel_reason == "admin"
    # Its tickets no longer admit, used or not.
    assert admin_api.post(CHECKIN, {"code": _codes(booking)[0]}).status_code == 404


def test_a_cancelled_booking_is_not_admitted_at_the_door(
    paid_in_the_door_window, customer_api, admin_api
):
    booking = paid_in_the_door_window
    assert customer_api.post(f"/api/v1/bookings/{booking.pk}/cancel/").status_code == 200
    for code in _codes(booking):
        assert admin_api.post(CHECKIN, {"code": code}).status_code == 404

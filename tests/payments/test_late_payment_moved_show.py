"""A payment that lands after its hold lapsed is judged against the show as it is now.

A show's start, screen, movie or currency can change only while no booking of it is live; the
change also ends every lapsed booking whose payment was still open (``show_changed``), so a late
payment for seats of the show as it was is refunded like any lost seat, and the door never
admits a ticket for seats the moved show no longer has. Real short holds (1 s), real payments at
localstripe, the webhook delivered by localstripe to the live server.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from boxoffice.booking.models import Booking, Ticket
from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.payments.models import Refund
from tests.support.net import wait_for

from .conftest import booking_status, run_worker
from .helpers import hold, intent_of, localstripe_refunds, pay

pytestmark = pytest.mark.django_db(transaction=True)


def lapsed_hold(customer_api, showtime, settings) -> dict:  # type: ignore[no-untyped-def]
    """Two seats held for a second, the payment opened, and the hold left to lapse."""
    settings.BOOKING_HOLD_SECONDS = 1
    booking = hold(customer_api, showtime)
    wait_for(lambda: booking_status(booking["id"]) != "pending" or _lapsed(booking["id"]))
    time.sleep(0.1)
    assert customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()["status"] == "expired"
    return booking


def _lapsed(booking_id: int) -> bool:
    from django.utils import timezone

    return Booking.objects.get(pk=booking_id).expires_at <= timezone.now()


def refunded_in_full(localstripe: str, booking_id: int) -> None:
    intent_id = intent_of(booking_id)
    wait_for(lambda: Booking.objects.get(pk=booking_id).paid_amount > 0)
    run_worker()
    row = Booking.objects.get(pk=booking_id)
    assert row.status == "cancelled"
    assert row.cancel_reason == "show_changed"
    assert row.refunded_amount == row.paid_amount == row.total
    assert [r["status"] for r in localstripe_refunds(localstripe, intent_id)] == ["succeeded"]
    assert Refund.objects.get(booking_id=booking_id).status == Refund.Status.SUCCEEDED
    assert not Ticket.objects.filter(booking_seat__booking_id=booking_id).exists()


def test_a_late_payment_for_a_show_that_moved_is_refunded(
    customer_api, admin_api, showtime, stripe_webhook, localstripe, settings
):
    booking = lapsed_hold(customer_api, showtime, settings)
    later = (showtime.starts_at + timedelta(hours=3)).isoformat()

    moved = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"starts_at": later}, format="json"
    )
    assert moved.status_code == 200, moved.content

    assert pay(booking["id"]) == "succeeded"
    refunded_in_full(localstripe, booking["id"])
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert (detail["status"], detail["tickets"]) == ("cancelled", [])


def test_a_late_payment_for_a_show_given_another_screen_is_refunded(
    customer_api, admin_api, showtime, stripe_webhook, localstripe, settings
):
    booking = lapsed_hold(customer_api, showtime, settings)
    other = Screen.objects.create(theater=showtime.screen.theater, name="Screen 9")
    generate_seat_grid(screen=other, rows=3, seats_per_row=4)

    moved = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"screen": other.pk}, format="json"
    )
    assert moved.status_code == 200, moved.content

    assert pay(booking["id"]) == "succeeded"
    refunded_in_full(localstripe, booking["id"])
    # The moved show's seat map is the new screen's, all free.
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"]
    assert len(seats) == 12
    assert {s["status"] for s in seats} == {"available"}


def test_a_running_hold_still_stops_the_move(customer_api, admin_api, showtime, stripe_webhook):
    booking = hold(customer_api, showtime)
    later = (showtime.starts_at + timedelta(hours=3)).isoformat()
    moved = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"starts_at": later}, format="json"
    )
    assert moved.status_code == 409, moved.content
    assert moved.json()["errors"][0]["code"] == "showtime_has_bookings"
    assert booking_status(booking["id"]) == "pending"


def test_a_lapsed_hold_of_a_show_left_in_place_still_confirms_late(
    customer_api, admin_api, showtime, stripe_webhook, settings
):
    """Only a change of the sold terms ends lapsed bookings: a new base price does not."""
    booking = lapsed_hold(customer_api, showtime, settings)
    repriced = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"base_price": "99.00"}, format="json"
    )
    assert repriced.status_code == 200, repriced.content
    assert pay(booking["id"]) == "succeeded"
    wait_for(lambda: booking_status(booking["id"]) == "confirmed")

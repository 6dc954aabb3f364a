"""The per-customer cap: one customer's running holds on one show total at most
BOOKING_MAX_SEATS seats (409 ``hold_limit``). Paid seats, other shows, other customers and
holds that ended do not count."""

from __future__ import annotations

import pytest

from boxoffice.booking.models import Booking
from boxoffice.booking.services import record_payment
from tests.conftest import bearer

from .helpers import error_codes, hold_labels, lapse

pytestmark = pytest.mark.django_db

ROW_C = [f"C{n}" for n in range(1, 6)]
ROW_D = [f"D{n}" for n in range(1, 6)]


def test_holds_of_one_customer_on_one_show_are_capped(customer_api, showtime, settings):
    assert settings.BOOKING_MAX_SEATS == 10
    assert hold_labels(customer_api, showtime, *ROW_C).status_code == 201
    assert hold_labels(customer_api, showtime, *ROW_D[:4]).status_code == 201
    nine = Booking.objects.count()

    over = hold_labels(customer_api, showtime, "D5", "B1")  # 9 + 2 > 10
    assert over.status_code == 409, over.content
    assert error_codes(over) == ["hold_limit"]
    assert Booking.objects.count() == nine  # all or nothing

    assert hold_labels(customer_api, showtime, "D5").status_code == 201  # exactly 10
    assert error_codes(hold_labels(customer_api, showtime, "B1")) == ["hold_limit"]


def test_the_cap_is_per_customer_and_per_show(
    customer_api, other_customer, showtime, make_showtime
):
    from datetime import timedelta

    assert hold_labels(customer_api, showtime, *ROW_C, *ROW_D).status_code == 201
    # Another customer on the same show, and the same customer on another show, are free.
    assert hold_labels(bearer(other_customer), showtime, "B1", "B2").status_code == 201
    later = make_showtime(starts_at=showtime.starts_at + timedelta(hours=4))
    assert hold_labels(customer_api, later, "A1").status_code == 201


def test_ended_and_paid_holds_do_not_count(customer_api, showtime):
    first = hold_labels(customer_api, showtime, *ROW_C).json()
    second = hold_labels(customer_api, showtime, *ROW_D).json()
    assert error_codes(hold_labels(customer_api, showtime, "B1")) == ["hold_limit"]

    # A lapsed hold frees its share at once (no sweeper needed) ...
    lapse(first["id"])
    assert hold_labels(customer_api, showtime, "B1").status_code == 201
    # ... a cancelled one too ...
    assert customer_api.post(f"/api/v1/bookings/{second['id']}/cancel/").status_code == 200
    third = hold_labels(customer_api, showtime, "B2", "B3", "B4", "B5").json()
    assert third["status"] == "pending"
    # ... and seats paid for are the customer's, not a hold.
    booking = Booking.objects.get(pk=third["id"])
    assert record_payment(booking=booking, amount=booking.total).outcome == "confirmed"
    assert hold_labels(customer_api, showtime, *ROW_D, "A1", "A2", "A3", "A4").status_code == 201

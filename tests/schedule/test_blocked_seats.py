"""Blocked seats are not for sale: the showtime list's ``seats_available`` and the showtime
report's ``capacity`` leave them out, so a show whose other seats are all taken reads sold out."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.booking.helpers import hold_labels, seat_ids, seats_available
from tests.conftest import bearer, make_user

pytestmark = pytest.mark.django_db

ROW_LABELS = [f"{row}{n}" for row in "ABCD" for n in range(1, 6)]  # the 4 x 5 test screen


def _block(admin_api, screen, *labels: str, blocked: bool = True) -> None:  # type: ignore[no-untyped-def]
    response = admin_api.patch(
        f"/api/v1/screens/{screen.pk}/seats/",
        {"seats": seat_ids(screen, *labels), "blocked": blocked},
        format="json",
    )
    assert response.status_code == 200, response.content


def test_blocked_seats_are_not_available(api, admin_api, screen, showtime):
    assert seats_available(api, showtime) == 20
    _block(admin_api, screen, "D1", "D2", "D3")
    assert seats_available(api, showtime) == 17
    _block(admin_api, screen, "D3", blocked=False)
    assert seats_available(api, showtime) == 18


def test_show_with_every_sellable_seat_taken_reads_sold_out(api, admin_api, screen, showtime):
    _block(admin_api, screen, *ROW_LABELS[4:])  # 16 blocked, A1..A4 for sale
    assert hold_labels(bearer(make_user("ann")), showtime, "A1", "A2").status_code == 201
    assert hold_labels(bearer(make_user("ben")), showtime, "A3", "A4").status_code == 201

    assert seats_available(api, showtime) == 0
    # The shop's listing says so too (it reads the same annotation).
    day = timezone.localtime(showtime.starts_at, showtime.screen.theater.tzinfo).date()
    page = api.get("/", {"date": day.isoformat()})
    assert page.status_code == 200
    assert b"sold out" in page.content


def test_a_seat_blocked_after_its_sale_is_not_counted_twice(api, admin_api, screen, showtime):
    assert hold_labels(bearer(make_user("ann")), showtime, "A1", "A2").status_code == 201
    assert seats_available(api, showtime) == 18
    _block(admin_api, screen, "A1")  # stays held, and is no longer for sale: counted once
    assert seats_available(api, showtime) == 18


def test_report_capacity_counts_seats_for_sale(admin_api, screen, showtime):
    _block(admin_api, screen, "D1", "D2", "D3", "D4", "D5")
    assert hold_labels(bearer(make_user("ann")), showtime, "A1").status_code == 201
    today = timezone.now().date()
    response = admin_api.get(
        "/api/v1/reports/showtimes/",
        {"from": today.isoformat(), "to": (today + timedelta(days=10)).isoformat()},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    (row,) = [r for r in rows if r["showtime"] == showtime.pk]
    assert row["capacity"] == 15
    assert row["held"] == 1
    assert Decimal(row["occupancy"]) == Decimal("0")

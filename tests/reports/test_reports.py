"""Admin reports: occupancy and revenue per show, revenue per day, movie or theater."""

from __future__ import annotations

from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from boxoffice.booking import services
from boxoffice.booking.models import Booking
from boxoffice.catalog.models import Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from tests.booking.helpers import lapse, seat_ids
from tests.conftest import future, make_user

pytestmark = pytest.mark.django_db

SHOWS = "/api/v1/reports/showtimes/"
REVENUE = "/api/v1/reports/revenue/"


def _hold(user, showtime, *labels) -> Booking:  # type: ignore[no-untyped-def]
    return services.create_hold(user=user, showtime=showtime, seat_ids=seat_ids(showtime, *labels))


def _sell(user, showtime, *labels) -> Booking:  # type: ignore[no-untyped-def]
    booking = _hold(user, showtime, *labels)
    outcome = services.record_payment(booking=booking, amount=booking.total).outcome
    assert outcome == services.PaymentOutcome.CONFIRMED
    return booking


@pytest.fixture
def sales(movie, screen, make_showtime):  # type: ignore[no-untyped-def]
    """Three shows in range and one outside it, with sales, holds, a lapsed hold and a
    cancelled sale."""
    alice, bob, carol, dave, erin = (make_user(n) for n in ("al", "bo", "ca", "da", "er"))
    nosferatu = Movie.objects.create(title="Nosferatu", duration_minutes=90)
    rex = Theater.objects.create(name="Rex", timezone="Europe/Berlin")
    small = Screen.objects.create(theater=rex, name="Small")
    generate_seat_grid(screen=small, rows=2, seats_per_row=5, tiers={})

    show1 = make_showtime(starts_at=future(days=1, hour=19))  # Metropolis, Odeon, 20 seats
    show2 = make_showtime(starts_at=future(days=2, hour=19), movie=nosferatu)
    show3 = make_showtime(starts_at=future(days=2, hour=20), screen=small)  # Metropolis, Rex
    later = make_showtime(starts_at=future(days=40, hour=19))

    _sell(alice, show1, "A1", "A2")  # 30.00
    _sell(bob, show1, "C1")  # 10.00
    _hold(carol, show1, "B1")  # held
    lapse(_hold(dave, show1, "B2").pk)  # lapsed: neither held nor sold
    refunded = _sell(erin, show1, "D1")
    services.cancel_booking(booking=refunded, by=refunded.user)  # cancelled: no longer sold
    _sell(alice, show2, "B1", "B2", "B3", "B4")  # 4 x 12.50
    _sell(bob, show3, "B1")  # 10.00 (this screen is all standard)
    _hold(carol, show3, "A1", "A2")
    _sell(alice, later, "A1")  # outside the range
    return {"show1": show1, "show2": show2, "show3": show3, "later": later, "rex": rex}


def _range() -> dict[str, str]:
    today = timezone.now().date()
    return {"from": today.isoformat(), "to": (today + timedelta(days=10)).isoformat()}


def test_showtime_report_rows(admin_api, sales, movie):
    response = admin_api.get(SHOWS, _range())

    assert response.status_code == 200
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    by_show = {row["showtime"]: row for row in rows}
    assert set(by_show) == {sales["show1"].pk, sales["show2"].pk, sales["show3"].pk}
    row = by_show[sales["show1"].pk]
    assert set(row) >= {
        "showtime",
        "movie",
        "theater",
        "starts_at",
        "capacity",
        "sold",
        "held",
        "occupancy",
        "revenue",
        "currency",
    }
    assert row["movie"] == "Metropolis"
    assert row["theater"] == "Odeon"
    assert row["currency"] == sales["show1"].currency

    def numbers(show):  # type: ignore[no-untyped-def]
        r = by_show[sales[show].pk]
        assert isinstance(r["occupancy"], str)
        return (r["capacity"], r["sold"], r["held"], Decimal(r["occupancy"]), r["revenue"])

    assert numbers("show1") == (20, 3, 1, Decimal("0.15"), "40.00")
    assert numbers("show2") == (20, 4, 0, Decimal("0.2"), "50.00")
    assert numbers("show3") == (10, 1, 2, Decimal("0.1"), "10.00")
    assert by_show[sales["show3"].pk]["theater"] == "Rex"
    assert by_show[sales["show2"].pk]["movie"] == "Nosferatu"


def test_occupancy_is_not_rounded_to_nothing(admin_api, customer, make_showtime):
    show = make_showtime()
    _sell(customer, show, "A1")  # 1 of 20 seats
    rows = admin_api.get(SHOWS, _range()).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert Decimal(rows[0]["occupancy"]) == Decimal("0.05")


def _revenue(admin_api, group_by: str) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    response = admin_api.get(REVENUE, {**_range(), "group_by": group_by})
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    for row in rows:
        assert set(row) >= {"key", "label", "bookings", "tickets", "revenue", "currency"}
    return {row["label"]: (row["bookings"], row["tickets"], row["revenue"]) for row in rows}


def test_revenue_by_movie(admin_api, sales):
    assert _revenue(admin_api, "movie") == {
        "Metropolis": (3, 4, "50.00"),  # show1 x2 + show3; the cancelled sale does not count
        "Nosferatu": (1, 4, "50.00"),
    }


def test_revenue_by_theater(admin_api, sales):
    assert _revenue(admin_api, "theater") == {"Odeon": (3, 7, "90.00"), "Rex": (1, 1, "10.00")}
    rows = admin_api.get(REVENUE, {**_range(), "group_by": "theater"}).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert {r["key"] for r in rows} == {str(sales["show1"].screen.theater_id), str(sales["rex"].pk)}


def test_revenue_by_day(admin_api, sales):
    day1 = sales["show1"].starts_at.astimezone(UTC).date().isoformat()
    day2 = sales["show2"].starts_at.astimezone(UTC).date().isoformat()
    result = _revenue(admin_api, "day")
    assert result == {
        day1: (2, 3, "40.00"),
        day2: (2, 5, "60.00"),
    }


def test_revenue_defaults_to_day(admin_api, sales):
    assert admin_api.get(REVENUE, _range()).status_code == 200


def test_reports_are_for_admins(api, customer_api, db):
    for url in (SHOWS, REVENUE):
        assert customer_api.get(url).status_code == 403
        assert api.get(url).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"to": "2026-13-45"},
        {"from": "2030-01-10", "to": "2030-01-01"},
        {"from": "2030-01-01", "to": "2032-01-01"},
    ],
    ids=["bad-from", "bad-to", "to-before-from", "too-long"],
)
def test_bad_ranges_are_400(admin_api, db, params):
    for url in (SHOWS, REVENUE):
        response = admin_api.get(url, params)
        assert response.status_code == 400, (url, response.content)


def test_bad_group_by_is_400(admin_api, db):
    response = admin_api.get(REVENUE, {**_range(), "group_by": "week"})
    assert response.status_code == 400

"""Prices: base x tier x time factor, the morning judged on the theater's own clock, one
half-up rounding to cents, versioned policies that never reprice a frozen booking."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from boxoffice.catalog.models import Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from tests.conftest import bearer, future

from .helpers import hold_labels, money, seat_map

pytestmark = pytest.mark.django_db

POLICY = "/api/v1/pricing/policy/"


@pytest.fixture
def screen_in(db):  # type: ignore[no-untyped-def]
    """A 3x2 screen (row A vip, row B premium, row C standard) in a theater in ``tz``."""

    def _make(tz: str) -> Screen:
        theater = Theater.objects.create(name=f"Cinema {tz}", timezone=tz)
        screen = Screen.objects.create(theater=theater, name="1")
        generate_seat_grid(
            screen=screen, rows=3, seats_per_row=2, tiers={"vip": ["A"], "premium": ["B"]}
        )
        return screen

    return _make


def prices(api, showtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {s["tier"]: s["price"] for s in seat_map(api, showtime)}


def local(day: date, hh: int, mm: int, tz: str) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=zoneinfo.ZoneInfo(tz))


def next_dst_change(tz: str) -> date:
    """The next day (after tomorrow) on which ``tz`` changes its UTC offset."""
    zone = zoneinfo.ZoneInfo(tz)
    day = timezone.now().date() + timedelta(days=2)
    for _ in range(400):
        start = datetime.combine(day, time(0, 0), tzinfo=zone)
        end = datetime.combine(day, time(23, 0), tzinfo=zone)
        if start.utcoffset() != end.utcoffset():
            return day
        day += timedelta(days=1)
    raise AssertionError(f"{tz} has no daylight-saving change within a year")


def test_evening_prices_by_tier(api, showtime):
    assert prices(api, showtime) == {"vip": "15.00", "premium": "12.50", "standard": "10.00"}


def test_morning_in_the_theaters_time_zone(api, make_showtime):
    showtime = make_showtime(starts_at=future(days=2, hour=10))  # 10:00 in Berlin
    assert prices(api, showtime) == {"vip": "12.00", "premium": "10.00", "standard": "8.00"}


@pytest.mark.parametrize(
    ("tz", "hour", "morning"),
    [
        # Tokyo is UTC+9: 08:00 local is 23:00 UTC the day before (UTC says evening).
        ("Asia/Tokyo", 8, True),
        # 13:00 local is 04:00 UTC (UTC says morning).
        ("Asia/Tokyo", 13, False),
        # Los Angeles is UTC-8 (UTC-7 in summer): 10:00 local is 17:00/18:00 UTC.
        ("America/Los_Angeles", 10, True),
        # 20:00 local is 03:00/04:00 UTC the next day.
        ("America/Los_Angeles", 20, False),
    ],
)
def test_morning_uses_local_not_utc_hour(api, make_showtime, screen_in, tz, hour, morning):
    starts_at = future(days=3, hour=hour, tz=tz)
    utc_hour = starts_at.astimezone(zoneinfo.ZoneInfo("UTC")).hour
    assert (utc_hour < 12) != morning, "the case must tell local time from UTC"
    showtime = make_showtime(screen=screen_in(tz), starts_at=starts_at)

    expected = (
        {"vip": "12.00", "premium": "10.00", "standard": "8.00"}
        if morning
        else {"vip": "15.00", "premium": "12.50", "standard": "10.00"}
    )
    assert prices(api, showtime) == expected


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York"])
def test_daylight_saving_change_day(api, make_showtime, screen_in, tz):
    """On the day the clocks change, 11:30 local is morning and 12:30 is not. Computed with
    the offset of the day before (or UTC), one of the two would land on the wrong side of noon.
    The day is found from the tz database (Berlin 2027-03-28, New York 2027-03-14, ...)."""
    day = next_dst_change(tz)
    first = screen_in(tz)
    second = Screen.objects.create(theater=first.theater, name="2")
    generate_seat_grid(
        screen=second, rows=3, seats_per_row=2, tiers={"vip": ["A"], "premium": ["B"]}
    )
    before = make_showtime(screen=first, starts_at=local(day, 11, 30, tz))
    after = make_showtime(screen=second, starts_at=local(day, 12, 30, tz))
    # The offsets differ from the previous day's, so the case really is on a change day.
    previous = local(day - timedelta(days=1), 11, 30, tz)
    assert previous.utcoffset() != local(day, 11, 30, tz).utcoffset()
    assert prices(api, before) == {"vip": "12.00", "premium": "10.00", "standard": "8.00"}
    assert prices(api, after) == {"vip": "15.00", "premium": "12.50", "standard": "10.00"}


@pytest.mark.parametrize(
    ("base", "hour", "expected"),
    [
        # 9.99 x 1.25 = 12.4875 -> 12.49
        ("9.99", 19, {"premium": "12.49", "vip": "14.99", "standard": "9.99"}),
        # 10.02 x 1.25 = 12.525 exactly: half-up gives 12.53 (banker's rounding 12.52)
        ("10.02", 19, {"premium": "12.53", "vip": "15.03", "standard": "10.02"}),
        # 5.01 x 1.50 x 0.80 = 6.012 -> 6.01 (rounding twice would give 7.52 x 0.8 -> 6.02)
        ("5.01", 9, {"vip": "6.01", "premium": "5.01", "standard": "4.01"}),
    ],
)
def test_half_up_rounding_once(api, make_showtime, base, hour, expected):
    showtime = make_showtime(starts_at=future(days=4, hour=hour), base_price=Decimal(base))
    assert prices(api, showtime) == expected


def test_booking_freezes_prices_and_shows_their_breakdown(customer_api, make_showtime):
    showtime = make_showtime(starts_at=future(days=2, hour=9), base_price=Decimal("10.02"))
    response = hold_labels(customer_api, showtime, "B1", "C1")
    body = response.json()
    assert [s["price"] for s in body["seats"]] == ["10.02", "8.02"]  # 12.525*0.8, 10.02*0.8
    assert money(body["total"]) == Decimal("18.04")
    detail = customer_api.get(f"/api/v1/bookings/{body['id']}/").json()
    b1 = detail["seats"][0]["breakdown"]
    assert (Decimal(b1["base_price"]), Decimal(b1["tier_factor"]), Decimal(b1["time_factor"])) == (
        Decimal("10.02"),
        Decimal("1.25"),
        Decimal("0.80"),
    )


def test_policy_read_by_anyone_written_by_admins_only(api, customer_api, admin_api, db):
    current = api.get(POLICY)
    assert current.status_code == 200
    body = current.json()
    assert Decimal(body["standard_factor"]) == Decimal("1.00")
    assert Decimal(body["premium_factor"]) == Decimal("1.25")
    assert Decimal(body["vip_factor"]) == Decimal("1.50")
    assert Decimal(body["morning_factor"]) == Decimal("0.80")

    assert customer_api.post(POLICY, {"vip_factor": "3.00"}, format="json").status_code == 403
    assert api.post(POLICY, {"vip_factor": "3.00"}, format="json").status_code == 401
    assert Decimal(api.get(POLICY).json()["vip_factor"]) == Decimal("1.50")

    bad = admin_api.post(POLICY, {"vip_factor": "-1"}, format="json")
    assert bad.status_code == 400
    assert Decimal(api.get(POLICY).json()["vip_factor"]) == Decimal("1.50")


def test_policy_change_is_a_new_version_and_keeps_frozen_prices(
    api, customer_api, other_customer, admin_api, showtime
):
    booked = hold_labels(customer_api, showtime, "A1", "B1").json()
    old_policy = api.get(POLICY).json()

    response = admin_api.post(
        POLICY, {"premium_factor": "2.00", "vip_factor": "3.00"}, format="json"
    )

    assert response.status_code == 201
    new_policy = response.json()
    assert new_policy["id"] != old_policy["id"]
    assert Decimal(new_policy["premium_factor"]) == Decimal("2.00")
    assert Decimal(new_policy["standard_factor"]) == Decimal("1.00")  # carried over
    assert api.get(POLICY).json()["id"] == new_policy["id"]

    # The booking made before keeps its prices and total...
    detail = customer_api.get(f"/api/v1/bookings/{booked['id']}/").json()
    assert [s["price"] for s in detail["seats"]] == ["15.00", "12.50"]
    assert detail["total"] == "27.50"
    assert detail["seats"][1]["breakdown"]["tier_factor"] == "1.25"
    # ... while the seat map and new holds use the new factors.
    assert prices(api, showtime) == {"vip": "30.00", "premium": "20.00", "standard": "10.00"}
    fresh = hold_labels(bearer(other_customer), showtime, "A2", "B2").json()
    assert [s["price"] for s in fresh["seats"]] == ["30.00", "20.00"]
    assert fresh["total"] == "50.00"


def test_a_morning_end_with_a_time_zone_offset_is_refused(admin_api):
    response = admin_api.post(
        "/api/v1/pricing/policy/", {"morning_ends_at": "12:00+05:00"}, format="json"
    )
    assert response.status_code == 400
    assert "without an offset" in response.json()["errors"][0]["detail"]
    assert (
        admin_api.post("/api/v1/pricing/policy/", {"morning_ends_at": "11:30"}, format="json")
        .json()["morning_ends_at"]
        .startswith("11:30")
    )


def test_zero_decimal_prices_round_to_whole_units(api, customer_api, make_showtime):
    """A Japanese cinema: 1001 JPY x 1.25 = 1251.25 would not be chargeable (Stripe counts yen
    in whole yen), so prices round half-up to whole units, and holds freeze those."""
    showtime = make_showtime(
        starts_at=future(days=4, hour=19), base_price=Decimal("1001"), currency="jpy"
    )
    assert prices(api, showtime) == {"vip": "1502.00", "premium": "1251.00", "standard": "1001.00"}
    body = hold_labels(customer_api, showtime, "B1").json()
    assert money(body["total"]) == Decimal("1251")
    assert body["currency"] == "jpy"

"""GET /api/v1/showtimes/{id}/seats/: every seat, natural order, price per tier, live status,
and a cache that never hides a write or an expiry."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from boxoffice.booking import services
from boxoffice.booking.models import Booking, BookingSeat, BookingStatus
from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import generate_seat_grid
from tests.conftest import bearer, make_user

from .helpers import hold_labels, lapse, parse_time, seat_map, seats_available, statuses

pytestmark = pytest.mark.django_db


def test_every_seat_in_natural_order_with_tier_prices(api, showtime):
    seats = seat_map(api, showtime)

    assert [s["label"] for s in seats] == [f"{r}{n}" for r in "ABCD" for n in range(1, 6)]
    assert set(seats[0]) == {
        *("id", "row", "number", "label", "tier", "price", "status"),
        *("kind", "x", "y"),  # seat rules (issue 12); "reason" only where a rule applies
    }
    assert {s["status"] for s in seats} == {"available"}
    by_row = {s["row"]: (s["tier"], s["price"]) for s in seats}
    # An evening show at base 10.00: standard 1.00, premium 1.25, vip 1.50.
    assert by_row == {
        "A": ("vip", "15.00"),
        "B": ("premium", "12.50"),
        "C": ("standard", "10.00"),
        "D": ("standard", "10.00"),
    }
    assert [(s["row"], s["number"]) for s in seats[:6]] == [
        ("A", 1), ("A", 2), ("A", 3), ("A", 4), ("A", 5), ("B", 1),
    ]  # fmt: skip


def test_unknown_showtime_is_404(api, db):
    assert api.get("/api/v1/showtimes/999999/seats/").status_code == 404


def test_rows_past_z_come_after_z(api, theater, make_showtime):
    big = Screen.objects.create(theater=theater, name="Big", cleaning_minutes=10)
    generate_seat_grid(screen=big, rows=28, seats_per_row=2, tiers={})
    showtime = make_showtime(screen=big)

    rows = []
    for seat in seat_map(api, showtime):
        if not rows or rows[-1] != seat["row"]:
            rows.append(seat["row"])

    assert rows == [chr(c) for c in range(ord("A"), ord("Z") + 1)] + ["AA", "AB"]
    assert len(seat_map(api, showtime)) == 56


def test_statuses_available_held_booked(api, showtime, customer_api, other_customer):
    held = hold_labels(customer_api, showtime, "A1", "A2")
    assert held.status_code == 201
    sold = hold_labels(bearer(other_customer), showtime, "C3")
    assert sold.status_code == 201
    outcome = services.record_payment(
        booking=Booking.objects.get(pk=sold.json()["id"]), amount=Decimal("10.00")
    ).outcome
    assert outcome == services.PaymentOutcome.CONFIRMED

    now = statuses(api, showtime)
    assert now["A1"] == now["A2"] == "held"
    assert now["C3"] == "booked"
    assert {label for label, status in now.items() if status == "available"} == set(now) - {
        "A1",
        "A2",
        "C3",
    }


def test_lapsed_hold_is_available_at_once_without_a_sweeper(api, showtime, customer_api):
    booking_id = hold_labels(customer_api, showtime, "B2").json()["id"]
    assert seats_available(api, showtime) == 19

    lapse(booking_id)

    assert statuses(api, showtime)["B2"] == "available"
    assert seats_available(api, showtime) == 20
    # Nobody tidied up: the row is still live and the booking still pending in the database.
    assert BookingSeat.objects.get(booking_id=booking_id).is_live
    assert Booking.objects.get(pk=booking_id).status == BookingStatus.PENDING
    # ... and the seat can be held again at once by someone else.
    other = bearer(make_user("carol"))
    assert hold_labels(other, showtime, "B2").status_code == 201


@pytest.mark.parametrize("backend", ["database", "locmem"])
def test_cache_does_not_outlive_a_hold_expiry(api, showtime, customer_api, settings, backend):
    """A map read while the hold runs is cached; the same read once the hold ran out must show
    the seat free, with no write in between (real time passes: the hold is one second).
    The database cache (the default) stores expiry times to the whole second, so the local
    memory run is the one that pins the behaviour down to the moment."""
    if backend == "locmem":
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        cache.clear()
    settings.BOOKING_HOLD_SECONDS = 1
    created = hold_labels(customer_api, showtime, "A3")
    assert created.status_code == 201
    expires_at = parse_time(created.json()["expires_at"])
    # Read (and cache) the map with well under a second of the hold left: the cache entry's own
    # lifetime is then at least a second, so only its knowledge of the expiry can stop it
    # from serving "held" after the hold ran out.
    time.sleep(0.3)
    assert statuses(api, showtime)["A3"] == "held"  # computed and cached now
    assert statuses(api, showtime)["A3"] == "held"  # served while still true

    wait = (expires_at - timezone.now()).total_seconds() + 0.05
    assert wait < 1.5
    time.sleep(max(wait, 0))

    assert statuses(api, showtime)["A3"] == "available"
    assert BookingSeat.objects.get(booking_id=created.json()["id"]).is_live  # no sweeper ran


def test_cache_does_not_hide_writes(api, showtime, customer_api, admin_api):
    assert statuses(api, showtime)["A1"] == "available"  # cached: nothing is held

    created = hold_labels(customer_api, showtime, "A1")
    assert created.status_code == 201
    assert statuses(api, showtime)["A1"] == "held"

    booking = Booking.objects.get(pk=created.json()["id"])
    services.record_payment(booking=booking, amount=booking.total)
    assert statuses(api, showtime)["A1"] == "booked"

    assert customer_api.post(f"/api/v1/bookings/{booking.pk}/cancel/").status_code == 200
    assert statuses(api, showtime)["A1"] == "available"

    # A new price policy re-renders every map.
    assert {s["price"] for s in seat_map(api, showtime) if s["tier"] == "vip"} == {"15.00"}
    response = admin_api.post("/api/v1/pricing/policy/", {"vip_factor": "2.00"}, format="json")
    assert response.status_code == 201
    assert {s["price"] for s in seat_map(api, showtime) if s["tier"] == "vip"} == {"20.00"}


def test_cache_lasts_only_until_the_first_of_several_holds_runs_out(
    api, showtime, customer_api, settings
):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    assert hold_labels(customer_api, showtime, "A4").status_code == 201  # the usual 10 minutes
    settings.BOOKING_HOLD_SECONDS = 2
    short = hold_labels(customer_api, showtime, "A3")
    assert short.status_code == 201
    seats = statuses(api, showtime)  # computed and cached with both holds running
    assert (seats["A3"], seats["A4"]) == ("held", "held")

    wait = (parse_time(short.json()["expires_at"]) - timezone.now()).total_seconds() + 0.05
    time.sleep(max(wait, 0))

    seats = statuses(api, showtime)
    assert (seats["A3"], seats["A4"]) == ("available", "held")


def _cache_rows() -> list[str]:
    """The keys of every row of the database cache table."""
    from django.conf import settings
    from django.db import connection

    table = connection.ops.quote_name(settings.CACHES["default"]["LOCATION"])
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT cache_key FROM {table}")
        return [key for (key,) in cursor.fetchall()]


def test_unknown_shows_leave_no_cache_rows(api, showtime, settings):
    """A 404 writes nothing that stays: 200 unknown ids add no row to the cache table (only the
    throttle's counter of a new window, which expires, may appear)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "boxoffice_cache",
        }
    }
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").status_code == 200
    assert api.get("/api/v1/showtimes/999999/seats/").status_code == 404
    before = _cache_rows()

    for showtime_id in range(1_000_000, 1_000_200):
        assert api.get(f"/api/v1/showtimes/{showtime_id}/seats/").status_code == 404

    after = _cache_rows()
    added = sorted(set(after) - set(before))
    assert not [key for key in added if "seatmap" in key], added[:5]
    # Nothing else but the throttle's per-window counters (they expire with their window).
    assert [key for key in added if ":throttle:anon:" not in key] == []
    assert len(added) <= 2, added
    # A known show's map is still served.
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").status_code == 200

"""Reads of bookings and seat maps, each a fixed number of queries whatever the size."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import FilteredRelation, Prefetch, Q, QuerySet
from django.utils import timezone

from boxoffice.catalog.models import Seat
from boxoffice.schedule.models import Showtime

from . import pricing, seatmap_cache
from .models import Booking, BookingSeat


def seat_map(
    showtime: Showtime, *, now: datetime | None = None
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Every seat of the show's screen in natural order with its price and status, and the
    moment the first hold shown as ``held`` lapses (when this answer goes stale by itself).

    One query: the seats LEFT JOINed to their live booking row for this show (the unique index
    guarantees at most one). Prices come from :func:`pricing.quote`, as a hold's would.
    """
    now = now or timezone.now()
    rows = list(
        Seat.objects.filter(screen_id=showtime.screen_id)
        .annotate(
            live=FilteredRelation(
                "booking_seats",
                condition=Q(booking_seats__showtime_id=showtime.pk, booking_seats__is_live=True),
            )
        )
        .order_by("row_index", "number")
        .values_list("id", "row", "number", "tier", "live__id", "live__hold_expires_at")
    )
    prices = pricing.quote(showtime=showtime, seat_tiers={row[0]: row[3] for row in rows}).seats
    seats = []
    valid_until: datetime | None = None
    for seat_id, row, number, tier, live_id, hold_expires_at in rows:
        # The Python twin of models.live_seat_q, on the joined row.
        if live_id is None:
            status = "available"
        elif hold_expires_at is None:
            status = "booked"
        elif hold_expires_at > now:
            status = "held"
            valid_until = (
                hold_expires_at if valid_until is None else min(valid_until, hold_expires_at)
            )
        else:
            status = "available"
        seats.append(
            {
                "id": seat_id,
                "row": row,
                "number": number,
                "label": f"{row}{number}",
                "tier": tier,
                # Two places, as every money field of the API (jpy prices read "1251.00").
                "price": f"{prices[seat_id].price:.2f}",
                "status": status,
            }
        )
    return seats, valid_until


def seat_map_json(showtime_id: int, *, fetch: Callable[[list[str]], dict] | None = None) -> bytes:
    """The rendered seat map, from the cache when it is still true. The show itself is only
    loaded to build a new rendering; a show that does not exist raises Showtime.DoesNotExist."""

    def build() -> tuple[bytes, datetime | None]:
        showtime = Showtime.objects.select_related("screen__theater").get(pk=showtime_id)
        seats, valid_until = seat_map(showtime)
        return json.dumps(seats, separators=(",", ":")).encode(), valid_until

    return seatmap_cache.get_or_build(showtime_id, build, fetch=fetch)


def booking_list() -> QuerySet[Booking]:
    return (
        Booking.objects.select_related("showtime__movie", "showtime__screen__theater", "user")
        .prefetch_related(
            Prefetch(
                "seats",
                queryset=BookingSeat.objects.select_related("seat", "ticket").order_by(
                    "seat__row_index", "seat__number"
                ),
            )
        )
        .order_by("-created_at", "-id")
    )


def bookings_visible_to(user) -> QuerySet[Booking]:  # type: ignore[no-untyped-def]
    """Admins see every booking; a customer only their own (others' answer 404, not 403)."""
    bookings = booking_list()
    return bookings if user.is_admin else bookings.filter(user=user)

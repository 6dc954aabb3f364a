"""Reads of bookings and seat maps, each a fixed number of queries whatever the size."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    FilteredRelation,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Seat
from boxoffice.core.errors import Conflict
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from . import pricing, rules, seatmap_cache, seatrules, states
from .models import Booking, BookingSeat, BookingStatus, SeatChange, Ticket, hold_lapsed


def seat_map(
    showtime: Showtime, *, now: datetime | None = None
) -> tuple[list[dict[str, Any]], datetime | None]:
    """Every seat of the show's screen in natural order with its price and status, and the
    moment the answer goes stale by itself: the first hold shown as ``held`` lapses, or the
    wheelchair spaces and companion seats go to general sale (their ``reason`` disappears).

    Each seat also has its ``kind``, its drawing position ``x``/``y`` (aisles included), and a
    ``reason`` only where a rule, not a sale, stops it being chosen by anyone
    (:func:`seatrules.reason`: ``blocked``, ``wheelchair_only``, ``companion_only``).

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
        .values_list(
            "id",
            "row",
            "number",
            "tier",
            "live__id",
            "live__hold_expires_at",
            "kind",
            "x",
            "y",
            "blocked",
        )
    )
    prices = pricing.quote(showtime=showtime, seat_tiers={row[0]: row[3] for row in rows}).seats
    seats = []
    valid_until: datetime | None = None
    release_at = showtime.starts_at - timedelta(minutes=settings.ACCESSIBLE_RELEASE_MINUTES)
    released = now >= release_at
    for seat_id, row, number, tier, live_id, hold_expires_at, kind, x, y, blocked in rows:
        # The Python twin of models.live_seat_q, on the joined row.
        if live_id is None:
            status = "available"
        elif hold_expires_at is None:
            status = "booked"
        elif not hold_lapsed(hold_expires_at, now):
            status = "held"
            valid_until = (
                hold_expires_at if valid_until is None else min(valid_until, hold_expires_at)
            )
        else:
            status = "available"
        entry = {
            "id": seat_id,
            "row": row,
            "number": number,
            "label": f"{row}{number}",
            "tier": tier,
            # Two places, as every money field of the API (jpy prices read "1251.00").
            "price": f"{prices[seat_id].price:.2f}",
            "status": status,
            "kind": kind,
            "x": x,
            "y": y,
        }
        if blocked:
            entry["reason"] = seatrules.REASON_BLOCKED
        elif kind != "standard" and not released:
            entry["reason"] = (
                seatrules.REASON_WHEELCHAIR_ONLY
                if kind == seatrules.WHEELCHAIR
                else seatrules.REASON_COMPANION_ONLY
            )
            valid_until = release_at if valid_until is None else min(valid_until, release_at)
        seats.append(entry)
    return seats, valid_until


def screen_drawing(seats: list[dict[str, Any]]) -> dict[str, Any]:
    """The room's size in drawing cells (aisles included) and where the screen is: above row
    ``y`` 0, across columns 0 to ``width`` - 1."""
    return {
        "width": max((seat["x"] for seat in seats), default=-1) + 1,
        "rows": max((seat["y"] for seat in seats), default=-1) + 1,
        "position": "top",
    }


def seat_map_version(showtime_id: int) -> int:
    """The newest position of the seat-change feed for this show (0 before any change)."""
    return SeatChange.objects.filter(showtime_id=showtime_id).aggregate(v=Max("id"))["v"] or 0


def showtime_for_seat_map(showtime_id: int) -> Showtime:
    """The show with what drawing its map needs, and the feed position (``seat_map_version``)
    read in the same query, before the seats are."""
    newest = SeatChange.objects.filter(showtime_id=OuterRef("pk")).order_by("-id").values("id")[:1]
    return (
        Showtime.objects.select_related("screen__theater")
        .annotate(seat_map_version=Coalesce(Subquery(newest), 0))
        .get(pk=showtime_id)
    )


def seat_map_object(showtime: Showtime) -> tuple[dict[str, Any], datetime | None]:
    """The seat map as the API gives it: ``{showtime, currency, version, screen, seats}``
    (``screen``: :func:`screen_drawing`), and when it
    goes stale by itself. ``version`` is read first: a change committing meanwhile is then
    reflected in the seats and replayed again from the version, never lost."""
    version = getattr(showtime, "seat_map_version", None)
    if version is None:
        version = seat_map_version(showtime.pk)
    seats, valid_until = seat_map(showtime)
    return {
        "showtime": showtime.pk,
        "currency": showtime.currency,
        "version": version,
        "screen": screen_drawing(seats),
        "seats": seats,
    }, valid_until


def seat_map_json(showtime_id: int, *, fetch: Callable[[list[str]], dict] | None = None) -> bytes:
    """The rendered seat map object, from the cache when it is still true. The show itself is
    only loaded to build a new rendering; a show that does not exist raises
    Showtime.DoesNotExist."""

    def build() -> tuple[bytes, datetime | None]:
        body, valid_until = seat_map_object(showtime_for_seat_map(showtime_id))
        return json.dumps(body, separators=(",", ":")).encode(), valid_until

    return seatmap_cache.get_or_build(showtime_id, build, fetch=fetch)


def seat_statuses(showtime_id: int, seat_ids: list[int], now: datetime | None = None) -> list[dict]:
    """``[{id, status}]`` for these seats of the show as they are now (the live seat map's
    deltas). One query."""
    now = now or timezone.now()
    taken = dict(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=seat_ids)
        .live(now)
        .values_list("seat_id", "hold_expires_at")
    )
    return [
        {
            "id": seat_id,
            "status": "available"
            if seat_id not in taken
            else ("booked" if taken[seat_id] is None else "held"),
        }
        for seat_id in sorted(seat_ids)
    ]


def next_hold_lapse(showtime_id: int, now: datetime | None = None) -> datetime | None:
    """When the first running hold of the show lapses (its seats turn available by time)."""
    now = now or timezone.now()
    return (
        BookingSeat.objects.filter(showtime_id=showtime_id)
        .running_holds(now)
        .aggregate(first=Min("hold_expires_at"))["first"]
    )


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


def new_hold_for_answer(booking: Booking) -> Booking:
    """A hold just made, ready for BookingSerializer without reading it back: its seat rows
    (``new_seats``, set by the hold) become the ``seats`` relation's prefetched rows, as
    ``booking_list()``'s prefetch would leave them. Its show and customer are the objects the
    hold was made with. A booking without ``new_seats`` (a free show, confirmed at once) is
    read again."""
    rows = getattr(booking, "new_seats", None)
    if rows is None:
        return booking_list().get(pk=booking.pk)
    seats = booking.seats.all()  # no query: the result is set here, as prefetch_related does
    seats._result_cache = rows
    seats._prefetch_done = True  # type: ignore[attr-defined]
    booking._prefetched_objects_cache = {"seats": seats}  # type: ignore[attr-defined]
    return booking


def bookings_visible_to(user: User) -> QuerySet[Booking]:
    """Admins see every booking; a customer only their own (others' answer 404, not 403)."""
    bookings = booking_list()
    return bookings if user.is_admin else bookings.filter(user=user)


# --- what a booking allows now -----------------------------------------------------------------
# The rules the services decide on locked rows, as yes/no questions for pages and lists: a page
# offers an action only where the service would accept it.


def payment_refusal(booking: Booking, *, show_status: str, now: datetime) -> Conflict | None:
    """Why ``booking`` cannot be paid now (its show's status is ``show_status``), or None when
    it can: pending, its hold running, its show still on. The one rule: services refuse a
    payment with this Conflict (409), and :func:`can_pay` asks it."""
    current = states.effective_status(booking, now)
    if current == BookingStatus.EXPIRED:
        return Conflict(
            "This hold has expired; hold the seats again to pay.", code="booking_expired"
        )
    if current != BookingStatus.PENDING:
        return Conflict(f"This booking is {current}; there is nothing to pay.", code="not_payable")
    if show_status != ShowtimeStatus.SCHEDULED:
        return Conflict("This show has been cancelled.", code="showtime_cancelled")
    return None


def can_pay(booking: Booking, *, now: datetime) -> bool:
    """Whether ``booking`` can be paid now (:func:`payment_refusal`). Reads its show."""
    return payment_refusal(booking, show_status=booking.showtime.status, now=now) is None


def booking_cancellable(booking: Booking, *, by: User, now: datetime) -> bool:
    """Whether ``by`` may cancel ``booking`` now, as ``services.cancel_booking`` decides: its
    customer or an admin, and :func:`boxoffice.booking.rules.cancel_refusal` finds nothing
    against it (expired or cancelled already, past the customer's cut-off, a ticket used at the
    door). Reads its show; uses the booking's prefetched seats and tickets when it has them.
    Pages offer "Cancel" only where this is True."""
    if not by.is_admin and booking.user_id != by.pk:
        return False
    used = rules.used_seat_labels(booking)
    return rules.cancel_refusal(booking, by=by, now=now, used_seats=used) is None


def cancellable_seats(booking: Booking, *, by: User, now: datetime) -> list[BookingSeat]:
    """The seats of ``booking`` that ``by`` may cancel on their own now, as
    ``services.cancel_booking(seat_ids=...)`` decides: its customer or an admin; nothing
    against the booking as a whole but used tickets (:func:`boxoffice.booking.rules.
    cancel_refusal` with none named: not expired or cancelled, the cut-off not passed);
    nothing against cancelling some seats (:func:`boxoffice.booking.rules.
    partial_cancel_refusal`); then each seat it still has, but those whose ticket was used
    (for a customer: the rule is per seat). Uses the booking's prefetched seats and tickets.
    Pages offer a seat's checkbox only where this lists it."""
    if not by.is_admin and booking.user_id != by.pk:
        return []
    if rules.cancel_refusal(booking, by=by, now=now, used_seats=()) is not None:
        return []
    if rules.partial_cancel_refusal(booking) is not None:
        return []
    used = set() if by.is_admin else set(rules.used_seat_labels(booking))
    return [
        row
        for row in booking.seats.all()
        if row.cancelled_at is None and row.seat.label not in used
    ]


def exchange_refusal(
    booking: Booking, *, by: User, now: datetime, currency: str | None = None
) -> Conflict | None:
    """Why ``by`` may not exchange ``booking`` now (into a show sold in ``currency``; None:
    its own currency), as ``services.exchange_booking`` decides it on the locked row
    (:func:`boxoffice.booking.rules.exchange_refusal`), or None. Someone else's booking is
    refused as not theirs. Uses the booking's prefetched seats and tickets when it has them.
    Pages offer "Exchange" only where this is None."""
    if not by.is_admin and booking.user_id != by.pk:
        return Conflict("This is not your booking.", code="not_yours")
    return rules.exchange_refusal(
        booking,
        by=by,
        now=now,
        currency=currency or booking.currency,
        used_seats=rules.used_seat_labels(booking),
    )


def cancellation_closes_at(booking: Booking) -> datetime:
    """When its customer can no longer cancel a paid booking online."""
    return rules.cancellation_closes_at(booking)


def admissions(showtime_id: int) -> tuple[int, int]:
    """(admitted, sold): the show's tickets checked in, of its tickets sold (those of its
    confirmed bookings). One query."""
    counts = Ticket.objects.filter(
        booking_seat__booking__showtime_id=showtime_id,
        booking_seat__booking__status=BookingStatus.CONFIRMED,
    ).aggregate(sold=Count("pk"), admitted=Count("pk", filter=Q(checked_in_at__isnull=False)))
    return counts["admitted"], counts["sold"]

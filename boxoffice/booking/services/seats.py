"""Which seats of a show are taken, whether N are free together, and freeing the seats of
lapsed holds: shared by holds, payments and the layers above (the waitlist asks
:func:`seats_together_available`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from boxoffice.catalog.models import Seat
from boxoffice.schedule.models import Showtime

from .. import locks, seatrules
from ..models import BookingSeat


def accessible_released(showtime: Showtime, now: datetime) -> bool:
    """Wheelchair spaces and companion seats are on general sale from ACCESSIBLE_RELEASE_MINUTES
    before the show."""
    return now >= showtime.starts_at - timedelta(minutes=settings.ACCESSIBLE_RELEASE_MINUTES)


def screen_layout(screen_id: int) -> tuple[seatrules.Layout, dict[int, int]]:
    """The screen's seats as the seat rules see them, and each seat's row index. Plain rows,
    not model instances: 600 seats are read on every best-available hold."""
    grid = list(
        Seat.objects.filter(screen_id=screen_id).values_list(
            "pk", "row", "number", "x", "y", "tier", "kind", "blocked", "companion_of", "row_index"
        )
    )
    row_index = {seat[0]: seat[-1] for seat in grid}
    layout = seatrules.build_layout(
        seatrules.SeatInfo(
            id=pk,
            label=f"{row}{number}",
            x=x,
            y=y,
            tier=seat_tier,
            kind=kind,
            blocked=blocked,
            companion_of=companion_of,
        )
        for pk, row, number, x, y, seat_tier, kind, blocked, companion_of, _ in grid
    )
    return layout, row_index


def seats_together_available(*, showtime: Showtime, quantity: int) -> bool:
    """Whether a best-available hold of ``quantity`` seats side by side in one row would find
    them now (the same seat rules as :func:`.holds.hold_best_available`, for anyone: no
    accessible seats before their release, the single-seat rule of the screen). A read, no
    lock: the answer can be stale a moment later, which is why a hold decides again."""
    now = timezone.now()
    screen = showtime.screen
    layout, _ = screen_layout(screen.pk)
    taken = set(
        BookingSeat.objects.filter(showtime_id=showtime.pk)
        .live(now)
        .values_list("seat_id", flat=True)
    )
    spot = seatrules.sweet_spot(
        layout,
        column_percent=screen.sweet_spot_column_percent,
        row_percent=screen.sweet_spot_row_percent,
    )
    chosen = seatrules.best_available(
        layout,
        taken,
        quantity,
        spot=spot,
        released=accessible_released(showtime, now),
        single_seat_rule=screen.single_seat_rule,
    )
    return chosen is not None


def release_lapsed(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> None:
    """Inside the caller's transaction: end lapsed holds on ``seat_ids`` so the seats can be
    claimed. Rows are locked in seat order, like the INSERT that follows, so two buyers of
    overlapping seats queue up instead of deadlocking.

    Only the locked rows change. Their bookings already read as expired (by time) and the
    tidy-up rewrites their status later; updating the bookings or their other seats here would
    take locks outside seat order, and two buyers of two seats of one lapsed booking deadlocked
    on exactly that (tests/concurrency/test_booking_races.py, the mixed-activity test)."""
    lapsed = locks.lock_lapsed_seat_rows(showtime_id=showtime_id, seat_ids=seat_ids, now=now)
    if lapsed:
        BookingSeat.objects.filter(pk__in=lapsed).update(is_live=False)


def live_taken_seat_ids(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> set[int]:
    """Seats among ``seat_ids`` that a live hold or a sale occupies at ``now``."""
    return set(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=seat_ids)
        .live(now)
        .values_list("seat_id", flat=True)
    )

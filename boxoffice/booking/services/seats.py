"""Which seats of a show are taken, and freeing the seats of lapsed holds: shared by holds
and payments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .. import locks
from ..models import BookingSeat


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

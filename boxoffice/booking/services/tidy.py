"""The tidy-up (housekeeping): lapsed holds expired, unfinished sweeps of cancelled shows ended,
old seat-map feed rows dropped. Safe to run at any time, from any process."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from boxoffice.schedule.models import Showtime, ShowtimeStatus

from .. import locks, seatmap_cache, signals, states
from ..models import Booking, BookingSeat, BookingStatus, SeatChange, hold_lapsed_q
from .cancellation import cancel_bookings_of_show

S = BookingStatus


def expire_bookings(*, booking_ids: set[int] | None = None, now: datetime | None = None) -> int:
    """Mark lapsed pending bookings expired and free their seats. Safe to run at any time and
    from any process: only rows still pending past their expiry are touched."""
    now = now or timezone.now()
    lapsed = Booking.objects.lapsed(now)
    if booking_ids is not None:
        lapsed = lapsed.filter(pk__in=booking_ids)
    ids = list(lapsed.values_list("pk", flat=True))
    if not ids:
        return 0
    with locks.atomic():
        locks.lock_seat_rows(Q(booking_id__in=ids))
        freed: dict[int, list[int]] = {}
        for showtime_id, seat_id in (
            BookingSeat.objects.filter(booking_id__in=ids)
            .lapsed(now)
            .values_list("showtime_id", "seat_id")
        ):
            freed.setdefault(showtime_id, []).append(seat_id)
        # The same conditional update as states.transition, for many rows at once.
        expiring = Booking.objects.filter(pk__in=ids, status__in=states.ALLOWED[S.EXPIRED]).filter(
            hold_lapsed_q(now, "expires_at")
        )
        with_payment = list(expiring.exclude(payment_intent_id="").values_list("pk", flat=True))
        expired = expiring.update(status=S.EXPIRED)
        BookingSeat.objects.filter(booking_id__in=ids).lapsed(now).update(is_live=False)
        for showtime_id in sorted(freed):
            seatmap_cache.seats_changed(showtime_id, freed[showtime_id])
        if with_payment:
            signals.holds_ended.send(sender=Booking, booking_ids=with_payment)
    return expired


def end_bookings_of_cancelled_shows() -> int:
    """Housekeeping: finish the sweep of any cancelled show whose bookings were not all ended
    (a crash between the show's cancellation and the end of its sweep)."""
    shows = Showtime.objects.filter(
        status=ShowtimeStatus.CANCELLED, bookings__status__in=[S.PENDING, S.CONFIRMED]
    ).distinct()
    return sum(cancel_bookings_of_show(showtime=show) for show in shows)


def expire_holds_of_show(*, showtime_id: int, now: datetime | None = None) -> int:
    """Tidy the lapsed holds of one show now (the live seat map calls it when a hold's time is
    up, so listeners hear of the freed seats although no request changed anything)."""
    now = now or timezone.now()
    ids = set(
        Booking.objects.filter(showtime_id=showtime_id).lapsed(now).values_list("pk", flat=True)
    )
    return expire_bookings(booking_ids=ids, now=now) if ids else 0


def drop_old_seat_changes(*, now: datetime | None = None) -> int:
    """Housekeeping: forget feed rows older than SEATMAP_FEED_RETENTION_HOURS (a stream that
    asks to resume from one gets a new snapshot)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SEATMAP_FEED_RETENTION_HOURS)
    deleted, _ = SeatChange.objects.filter(created_at__lt=cutoff).delete()
    return deleted

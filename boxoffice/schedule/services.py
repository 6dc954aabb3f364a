"""Scheduling shows: the no-overlap rule lives here and in the database.

The check in :func:`_refuse_overlap` gives a friendly 400 naming the show in the way. It is not
the guarantee: on PostgreSQL the exclusion constraint is (a racing second insert fails and we
answer 409); on SQLite the transaction holds the database's write lock from its first statement,
so no other writer can slip in between the check and the insert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from boxoffice.catalog.models import Movie, Screen
from boxoffice.core.errors import Conflict

from .models import NO_OVERLAP_CONSTRAINT, Showtime, ShowtimeStatus


class ScheduleError(ValueError):
    """Invalid showtime input (400); ``field`` names the offending input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _span(*, movie: Movie, screen: Screen, starts_at: datetime) -> tuple[datetime, datetime]:
    ends_at = starts_at + timedelta(minutes=movie.duration_minutes)
    return ends_at, ends_at + timedelta(minutes=screen.cleaning_minutes)


def _refuse_overlap(showtime: Showtime) -> None:
    clash = (
        Showtime.objects.filter(
            screen_id=showtime.screen_id,
            status=ShowtimeStatus.SCHEDULED,
            starts_at__lt=showtime.blocked_until,
            blocked_until__gt=showtime.starts_at,
        )
        .exclude(pk=showtime.pk)
        .select_related("movie")
        .first()
    )
    if clash is not None:
        raise ScheduleError(
            f"The screen is busy from {clash.starts_at.isoformat()} until "
            f"{clash.blocked_until.isoformat()} (show {clash.pk}, {clash.movie.title}, "
            "cleaning included).",
            field="starts_at",
        )


def _save_without_overlap(showtime: Showtime) -> Showtime:
    if showtime.starts_at <= timezone.now():
        raise ScheduleError("A show cannot be scheduled in the past.", field="starts_at")
    try:
        with transaction.atomic():
            _refuse_overlap(showtime)
            showtime.save()
    except IntegrityError as exc:
        if NO_OVERLAP_CONSTRAINT in str(exc):
            raise Conflict(
                "Another show was scheduled on this screen at an overlapping time a moment ago.",
                code="showtime_overlap",
            ) from exc
        raise
    return showtime


def create_showtime(
    *,
    movie: Movie,
    screen: Screen,
    starts_at: datetime,
    base_price: Decimal,
    currency: str | None = None,
) -> Showtime:
    ends_at, blocked_until = _span(movie=movie, screen=screen, starts_at=starts_at)
    showtime = Showtime(
        movie=movie,
        screen=screen,
        starts_at=starts_at,
        ends_at=ends_at,
        blocked_until=blocked_until,
        base_price=base_price,
    )
    if currency:
        showtime.currency = currency.lower()
    return _save_without_overlap(showtime)


def update_showtime(*, showtime: Showtime, **changes: object) -> Showtime:
    """Change a scheduled show; its span is recomputed and checked again."""
    if showtime.status != ShowtimeStatus.SCHEDULED:
        raise Conflict("A cancelled show cannot be changed.", code="showtime_cancelled")
    moves = {"movie", "screen", "starts_at"} & set(changes)
    # ``bookings`` is the reverse relation of booking.Booking.showtime (the layer above).
    if moves and Showtime.objects.filter(pk=showtime.pk, bookings__isnull=False).exists():
        raise Conflict(
            "This show has bookings; its movie, screen and start time can no longer change.",
            code="showtime_has_bookings",
        )
    for field, value in changes.items():
        setattr(showtime, field, value)
    if "currency" in changes and isinstance(showtime.currency, str):
        showtime.currency = showtime.currency.lower()
    showtime.ends_at, showtime.blocked_until = _span(
        movie=showtime.movie, screen=showtime.screen, starts_at=showtime.starts_at
    )
    return _save_without_overlap(showtime)

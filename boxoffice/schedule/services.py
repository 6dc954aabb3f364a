"""Scheduling shows: the no-overlap rule, a show's changes and its cancellation.

The check in :func:`_refuse_overlap` gives a friendly 400 naming the show in the way. It is not
the guarantee: on PostgreSQL the exclusion constraint is (a racing second insert fails and we
answer 409); on SQLite the transaction holds the database's write lock from its first statement,
so no other writer can slip in between the check and the insert.

A show with live bookings keeps what its customers bought (movie, screen, start, currency): to
change those, cancel it. The layers above learn of changes through :mod:`.signals`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Movie, Screen
from boxoffice.core.errors import Conflict, InputError

from . import selectors, signals
from .models import NO_OVERLAP_CONSTRAINT, Showtime, ShowtimeStatus

# What a customer bought with a ticket: fixed once a show has live bookings.
SOLD_TERMS = ("movie", "screen", "starts_at", "currency")


class ScheduleError(InputError):
    """Invalid showtime input (400); ``field`` names the offending input."""


def _span(*, movie: Movie, screen: Screen, starts_at: datetime) -> tuple[datetime, datetime]:
    ends_at = starts_at + timedelta(minutes=movie.duration_minutes)
    return ends_at, ends_at + timedelta(minutes=screen.cleaning_minutes)


def _local(show: Showtime, moment: datetime) -> str:
    """``moment`` on the wall clock of the show's theatre, as its staff read it."""
    return f"{moment.astimezone(show.screen.theater.tzinfo):%Y-%m-%d %H:%M}"


def _describe(show: Showtime) -> str:
    return (
        f"show {show.pk}, {show.movie.title}, {_local(show, show.starts_at)} until "
        f"{_local(show, show.blocked_until)} ({show.screen.theater.timezone})"
    )


def _clash(showtime: Showtime, *, ignoring: Iterable[int] = ()) -> Showtime | None:
    return (
        Showtime.objects.filter(
            screen_id=showtime.screen_id,
            status=ShowtimeStatus.SCHEDULED,
            starts_at__lt=showtime.blocked_until,
            blocked_until__gt=showtime.starts_at,
        )
        .exclude(pk__in=[showtime.pk, *ignoring])
        .select_related("movie", "screen__theater")
        .first()
    )


def _refuse_overlap(showtime: Showtime) -> None:
    clash = _clash(showtime)
    if clash is not None:
        raise ScheduleError(
            f"The screen is busy from {_local(clash, clash.starts_at)} until "
            f"{_local(clash, clash.blocked_until)} ({clash.screen.theater.timezone}; "
            f"show {clash.pk}, {clash.movie.title}, cleaning included).",
            field="starts_at",
        )


def _overlap_conflict(exc: IntegrityError) -> Conflict:
    if NO_OVERLAP_CONSTRAINT not in str(exc):
        raise exc
    return Conflict(
        "Another show was scheduled on this screen at an overlapping time a moment ago.",
        code="showtime_overlap",
    )


def _save_without_overlap(showtime: Showtime) -> Showtime:
    if showtime.starts_at <= timezone.now():
        raise ScheduleError("A show cannot be scheduled in the past.", field="starts_at")
    try:
        with transaction.atomic():
            _refuse_overlap(showtime)
            showtime.save()
    except IntegrityError as exc:
        raise _overlap_conflict(exc) from exc
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
    showtime.currency = (currency or screen.theater.currency).lower()
    return _save_without_overlap(showtime)


def update_showtime(*, showtime: Showtime, **changes: Any) -> Showtime:
    """Change a scheduled show; its span is recomputed and checked again.

    The row is locked first, so a hold (which reads the show under a share lock) either comes
    before (then the sold terms are frozen) or after the change (then it sees the new show).
    ``base_price`` may always change: it prices new holds only, frozen prices stay."""
    if "currency" in changes and isinstance(changes["currency"], str):
        changes["currency"] = changes["currency"].lower()
    with transaction.atomic():
        locked = Showtime.objects.select_for_update(no_key=True).get(pk=showtime.pk)
        if locked.status != ShowtimeStatus.SCHEDULED:
            raise Conflict("A cancelled show cannot be changed.", code="showtime_cancelled")
        moving = sorted(
            name
            for name in SOLD_TERMS
            if name in changes and changes[name] != getattr(locked, name)
        )
        if moving and selectors.has_live_bookings(locked.pk):
            raise Conflict(
                f"This show has live bookings, so its {', '.join(moving)} can no longer change "
                "(base_price still can, for new holds). Cancel the show instead: everyone is "
                "refunded.",
                code="showtime_has_bookings",
            )
        if moving:
            signals.showtime_terms_changing.send(
                sender=Showtime, showtime_id=locked.pk, terms=moving
            )
        reprice = "base_price" in changes and changes["base_price"] != locked.base_price
        for field, value in changes.items():
            setattr(showtime, field, value)
        showtime.status = locked.status
        showtime.ends_at, showtime.blocked_until = _span(
            movie=showtime.movie, screen=showtime.screen, starts_at=showtime.starts_at
        )
        if moving and showtime.starts_at <= timezone.now():
            raise ScheduleError("A show cannot be moved into the past.", field="starts_at")
        try:
            with transaction.atomic():
                _refuse_overlap(showtime)
                showtime.save()
        except IntegrityError as exc:
            raise _overlap_conflict(exc) from exc
        if reprice or moving:
            signals.showtime_changed.send(sender=Showtime, showtime_id=showtime.pk)
    return showtime


def cancel_showtime(*, showtime: Showtime, reason: str, by: User | None = None) -> Showtime:
    """Cancel the show: from this commit on it sells nothing and admits nobody; then every
    booking of it ends and every payment is refunded (``showtime_cancelled``; the booking app's
    receiver does it, one booking per transaction, refunds and emails through the worker).

    Repeating it changes nothing more: the status moves once (a conditional UPDATE), and the
    sweep of bookings only finds what is still live, so a repeat also finishes a sweep that a
    crash cut short. ``by`` is recorded in the log (who cancelled)."""
    reason = reason.strip()
    if not reason:
        raise InputError("Say why the show is cancelled: customers are told.", field="reason")
    now = timezone.now()
    Showtime.objects.filter(pk=showtime.pk, status=ShowtimeStatus.SCHEDULED).update(
        status=ShowtimeStatus.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    )
    showtime.refresh_from_db(fields=["status", "cancelled_at", "cancel_reason"])
    signals.showtime_cancelled.send(sender=Showtime, showtime=showtime)
    return showtime


def respan_shows(*, movie: Movie | None = None, screen: Screen | None = None) -> int:
    """After a movie's duration or a screen's cleaning gap changed (inside that transaction):
    recompute ``ends_at`` and the blocked span of its shows still ahead. If that would make two
    shows overlap, refuse the change with 409 naming them. Returns how many shows moved."""
    shows = Showtime.objects.filter(
        status=ShowtimeStatus.SCHEDULED, starts_at__gt=timezone.now()
    ).select_related("movie", "screen__theater")
    if movie is not None:
        shows = shows.filter(movie=movie)
    if screen is not None:
        shows = shows.filter(screen=screen)
    changed = []
    for show in shows.select_for_update(of=("self",), no_key=True).order_by("pk"):
        if movie is not None:
            show.movie = movie
        if screen is not None:
            show.screen = screen
        span = _span(movie=show.movie, screen=show.screen, starts_at=show.starts_at)
        if span != (show.ends_at, show.blocked_until):
            show.ends_at, show.blocked_until = span
            changed.append(show)
    moved = {show.pk for show in changed}
    clashes = []
    for show in changed:
        clash = _clash(show, ignoring=moved)
        clash = clash or next(
            (
                other
                for other in changed
                if other.pk != show.pk
                and other.screen_id == show.screen_id
                and other.starts_at < show.blocked_until
                and other.blocked_until > show.starts_at
            ),
            None,
        )
        if clash is not None:
            clashes.append(f"{_describe(show)} would overlap {_describe(clash)}")
    if clashes:
        raise Conflict(
            "This change would make shows overlap: " + "; ".join(clashes) + ".",
            code="showtime_overlap",
        )
    try:
        with transaction.atomic():
            Showtime.objects.bulk_update(changed, ["ends_at", "blocked_until"])
    except IntegrityError as exc:
        raise _overlap_conflict(exc) from exc
    return len(changed)

"""Check-in at the door: a ticket admits once, while its show is on.

Doors open CHECKIN_OPENS_MINUTES (default 120) before the start and close at the show's end.
A forged, unknown or cancelled code is a 404 whatever its characters (the code carries its own
signature, checked before any lookup); a used ticket or one for a show that is not on is a 409
that names the show, so the person at the door can tell the customer where to go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.core.errors import Conflict, NotFound
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from . import locks, tickets
from .models import BookingStatus, Ticket


@dataclass(frozen=True)
class Admission:
    ticket: Ticket
    showtime: Showtime
    local_start: datetime


def _show_label(showtime: Showtime, local_start: datetime) -> str:
    return (
        f"{showtime.movie.title}, {showtime.screen.theater.name} {showtime.screen.name}, "
        f"{local_start:%Y-%m-%d %H:%M} ({showtime.screen.theater.timezone}), show {showtime.pk}"
    )


def _lock_for_admission(ticket: Ticket) -> None:
    """Take the locks that order an admission against a cancellation: the show's row shared
    (a show's cancellation updates it, so it waits for doors that are admitting, and a door
    that comes after it sees the show cancelled), then the booking's row shared (a customer's
    or an admin's cancel locks it exclusively and then reads whether a ticket was used, so it
    sees this admission, or this admission sees the booking cancelled). The order is the
    booking app's (:mod:`boxoffice.booking.locks`, which takes them): show, then seats, then
    bookings (check-in locks no seat rows)."""
    seat = ticket.booking_seat
    locks.lock_for_admission(showtime_id=seat.showtime_id, booking_id=seat.booking_id)


def _admit(ticket: Ticket, *, now: datetime, by: User) -> bool:
    """Mark the ticket used, unless it already is, or its booking is no longer confirmed, its
    seat no longer live, or its show cancelled, on rows that :func:`_lock_for_admission` keeps
    from changing until this transaction ends. Two doors scanning at the same moment admit once
    (tests/concurrency/test_checkin_race.py); a cancel or a show's cancellation racing the door
    either wins, and the door refuses, or loses, and sees the ticket used
    (tests/concurrency/test_checkin_cancel_race.py).

    Two statements, on purpose. The booking, seat and show are read first: the shared locks
    keep them as read. "Not used yet" is the UPDATE's own condition on the ticket's table alone:
    an UPDATE filtered across joins is sent as ``WHERE id IN (SELECT ... joins ...)``, and a
    door that waited for another door's row lock re-checked only ``id IN`` (the subquery keeps
    its earlier snapshot), so several doors admitted one ticket now and then."""
    admissible = Ticket.objects.filter(
        pk=ticket.pk,
        booking_seat__is_live=True,
        booking_seat__booking__status=BookingStatus.CONFIRMED,
        booking_seat__showtime__status=ShowtimeStatus.SCHEDULED,
    ).exists()
    return admissible and bool(
        Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=True).update(
            checked_in_at=now, checked_in_by=by
        )
    )


def check_in(*, code: str, by: User, now: datetime | None = None) -> Admission:
    """Admit the holder of ``code`` once."""
    now = now or timezone.now()
    if not tickets.is_authentic(code):
        raise NotFound("No such ticket.")
    ticket = (
        Ticket.objects.select_related(
            "booking_seat__booking",
            "booking_seat__seat",
            "booking_seat__showtime__movie",
            "booking_seat__showtime__screen__theater",
        )
        .filter(code=code.strip().upper())
        .first()
    )
    if ticket is None or ticket.booking_seat.booking.status != BookingStatus.CONFIRMED:
        raise NotFound("No such ticket.")
    showtime = ticket.booking_seat.showtime
    local_start = showtime.starts_at.astimezone(showtime.screen.theater.tzinfo)
    show = _show_label(showtime, local_start)
    if showtime.status != ShowtimeStatus.SCHEDULED:
        raise NotFound("No such ticket (its show was cancelled).")
    doors = showtime.starts_at - timedelta(minutes=settings.CHECKIN_OPENS_MINUTES)
    if now < doors:
        raise Conflict(
            f"Too early: this ticket is for {show}; doors open at "
            f"{doors.astimezone(local_start.tzinfo):%H:%M}.",
            code="show_not_open",
        )
    if now >= showtime.ends_at:
        raise Conflict(f"This ticket is for {show}, which has ended.", code="show_ended")
    with locks.atomic():
        _lock_for_admission(ticket)
        admitted = _admit(ticket, now=now, by=by)
    if not admitted:
        ticket.refresh_from_db(fields=["checked_in_at"])
        if ticket.checked_in_at is None:
            # Not used, so the booking or the show ended after the reads above.
            raise NotFound("No such ticket (its booking or show was cancelled).")
        used = ticket.checked_in_at.astimezone(local_start.tzinfo) if ticket.checked_in_at else now
        raise Conflict(
            f"Already used at {used:%H:%M} ({used.isoformat()}) for {show}.",
            code="already_checked_in",
        )
    ticket.checked_in_at = now
    return Admission(ticket=ticket, showtime=showtime, local_start=local_start)

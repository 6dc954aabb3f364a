"""Reads of the schedule."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from boxoffice.catalog.models import Theater
from boxoffice.catalog.selectors import seat_count
from boxoffice.core.timezones import local_date_q, local_day_bounds

from .models import Showtime, ShowtimeStatus

# Which seat rows hold their seat at a moment is the booking app's rule
# (``boxoffice.booking.models.live_seat_q``, its one home). The schedule sits below the booking
# app and cannot import it, so the booking app registers the rule here when it starts
# (``BookingConfig.ready``), as it registers its housekeeping tasks with core.
_live_seat_rule: Callable[[datetime, str], Q] | None = None


def register_live_seat_rule(rule: Callable[[datetime, str], Q]) -> None:
    """Called once by the booking app: ``rule(now, prefix)`` is the Q of seat rows holding
    their seat at ``now``, reached through ``prefix`` (here ``"booking_seats__"``, the reverse
    relation of BookingSeat.showtime)."""
    global _live_seat_rule
    _live_seat_rule = rule


def _live_booking_seats(now: datetime) -> Q:
    """Seats held by a running hold or sold, seen from a showtime."""
    if _live_seat_rule is None:
        raise ImproperlyConfigured("The booking app registers the live-seat rule; is it installed?")
    return _live_seat_rule(now, "booking_seats__")


def has_live_bookings(showtime_id: int, now: datetime | None = None) -> bool:
    """Whether any seat of the show is held by a running hold or sold."""
    return Showtime.objects.filter(
        Q(pk=showtime_id) & _live_booking_seats(now or timezone.now())
    ).exists()


def showtime_list(now: datetime | None = None) -> QuerySet[Showtime]:
    """Shows with ``capacity`` (the seats for sale: blocked seats are not) and
    ``seats_available`` (capacity minus the seats for sale that are sold or held by a hold that
    has not lapsed; a seat blocked after its sale stays sold but counts in neither)."""
    now = now or timezone.now()
    taken = Count(
        "booking_seats",
        filter=_live_booking_seats(now) & Q(booking_seats__seat__blocked=False),
    )
    return (
        Showtime.objects.select_related("movie", "screen__theater")
        .annotate(capacity=seat_count(for_sale=True))
        .annotate(seats_available=F("capacity") - taken)
        .order_by("starts_at", "id")
    )


def on_local_date(showtimes: QuerySet[Showtime], day: date) -> QuerySet[Showtime]:
    """Shows starting on ``day`` in their own theater's time zone."""
    timezones = Theater.objects.values_list("timezone", flat=True).distinct()
    return showtimes.filter(
        local_date_q(
            day, timezones=timezones, start_field="starts_at", tz_field="screen__theater__timezone"
        )
    )


def between_local_dates(
    showtimes: QuerySet[Showtime], first: date | None, last: date | None
) -> QuerySet[Showtime]:
    """Shows starting from ``first`` to ``last`` (both included; either may be None for an open
    end), each day read in the show's own theater's time zone, as :func:`on_local_date` does:
    one range per distinct time zone, OR-ed, so the database can use the start index."""
    if first is None and last is None:
        return showtimes
    # The first and last days datetime can hold have no bounds in every zone: leave that end open.
    lower = first if first is not None and first > date.min else None
    upper = last if last is not None and last < date.max - timedelta(days=1) else None
    if lower is None and upper is None:
        return showtimes
    q = Q(pk__in=[])
    for name in sorted(set(Theater.objects.values_list("timezone", flat=True).distinct())):
        tz = zoneinfo.ZoneInfo(name)
        bounds: dict[str, object] = {"screen__theater__timezone": name}
        if lower is not None:
            bounds["starts_at__gte"] = datetime.combine(lower, time.min, tzinfo=tz)
        if upper is not None:
            bounds["starts_at__lt"] = local_day_bounds(upper, tz)[1]
        q |= Q(**bounds)
    return showtimes.filter(q)


def todays_by_timezone(now: datetime) -> dict[str, date]:
    """The date it is at ``now`` in each time zone of a theater with a scheduled show still to
    come (zone name -> local date): at 20:00 UTC it is already tomorrow in Auckland and still
    today in Los Angeles."""
    zones = (
        Showtime.objects.filter(status=ShowtimeStatus.SCHEDULED, starts_at__gt=now)
        .values_list("screen__theater__timezone", flat=True)
        .distinct()
    )
    return {name: now.astimezone(zoneinfo.ZoneInfo(name)).date() for name in set(zones)}


def on_local_dates(showtimes: QuerySet[Showtime], days: Mapping[str, date]) -> QuerySet[Showtime]:
    """Shows starting on the day ``days`` gives for their own theater's time zone (zone name ->
    local date; shows in other zones are left out), as :func:`on_local_date` reads a day: one
    range per zone, OR-ed."""
    q = Q(pk__in=[])
    for name, day in sorted(days.items()):
        if date.min < day < date.max:
            start, end = local_day_bounds(day, zoneinfo.ZoneInfo(name))
            q |= Q(screen__theater__timezone=name, starts_at__gte=start, starts_at__lt=end)
    return showtimes.filter(q)

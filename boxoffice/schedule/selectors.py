"""Reads of the schedule."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from boxoffice.catalog.models import Theater
from boxoffice.catalog.selectors import seat_count
from boxoffice.core.timezones import local_date_q

from .models import Showtime


def showtime_list(now: datetime | None = None) -> QuerySet[Showtime]:
    """Shows with ``capacity`` and ``seats_available`` (capacity minus seats sold or held by a
    hold that has not lapsed). ``booking_seats`` is the reverse relation of the booking app's
    BookingSeat.showtime: the schedule names it without importing the layer above it."""
    now = now or timezone.now()
    taken = Count(
        "booking_seats",
        filter=Q(booking_seats__is_live=True)
        & (
            Q(booking_seats__hold_expires_at__isnull=True)
            | Q(booking_seats__hold_expires_at__gt=now)
        ),
    )
    return (
        Showtime.objects.select_related("movie", "screen__theater")
        .annotate(capacity=seat_count())
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

"""Reads of the schedule."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery

from boxoffice.catalog.models import Seat, Theater
from boxoffice.core.timezones import local_date_q

from .models import Showtime


def _capacity() -> Subquery:
    seats = (
        Seat.objects.filter(screen_id=OuterRef("screen_id"))
        .order_by()
        .values("screen_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Subquery(seats, output_field=IntegerField())


def showtime_list() -> QuerySet[Showtime]:
    return (
        Showtime.objects.select_related("movie", "screen__theater")
        .annotate(capacity=_capacity())
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

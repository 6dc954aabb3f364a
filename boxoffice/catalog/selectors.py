"""Reads of the catalog, with their joins, so list queries stay flat as data grows."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from boxoffice.core.timezones import local_date_q

from .models import Genre, Movie, Screen, Seat, Theater


def genre_list() -> QuerySet[Genre]:
    return Genre.objects.order_by("name")


def movie_list() -> QuerySet[Movie]:
    return Movie.objects.prefetch_related("genres").order_by("title", "id")


def movies_showing_on(movies: QuerySet[Movie], day: date) -> QuerySet[Movie]:
    """Movies with at least one scheduled show starting on ``day`` in its theater's time zone."""
    timezones = Theater.objects.values_list("timezone", flat=True).distinct()
    q = local_date_q(
        day,
        timezones=timezones,
        start_field="showtimes__starts_at",
        tz_field="showtimes__screen__theater__timezone",
    )
    return movies.filter(q, showtimes__status="scheduled").distinct()


def theater_list() -> QuerySet[Theater]:
    return Theater.objects.order_by("name", "id")


def screen_list() -> QuerySet[Screen]:
    return (
        Screen.objects.select_related("theater")
        .annotate(capacity=seat_count("pk"))
        .order_by("theater__name", "name", "id")
    )


def seat_count(screen_ref: str = "screen_id", *, for_sale: bool = False) -> Coalesce:
    """A screen's capacity as a subquery expression, for querysets of rows that name a screen
    (``screen_ref`` is the outer field holding its id). The one definition of capacity: every
    seat of the grid, or with ``for_sale`` only the seats for sale (not ``blocked``), the
    capacity of a show."""
    seats = Seat.objects.filter(screen_id=OuterRef(screen_ref))
    if for_sale:
        seats = seats.filter(blocked=False)
    counted = seats.order_by().values("screen_id").annotate(n=Count("id")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def seats_of(screen: Screen) -> QuerySet[Seat]:
    return Seat.objects.filter(screen=screen).order_by("row_index", "number")

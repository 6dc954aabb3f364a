"""The booking app's reactions to the layers below it (schedule, catalog), and its housekeeping."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from boxoffice.catalog.models import Screen, Theater
from boxoffice.catalog.signals import local_time_changed, seat_grid_changed, seat_grid_changing
from boxoffice.schedule.models import Showtime
from boxoffice.schedule.signals import (
    showtime_cancelled,
    showtime_changed,
    showtime_terms_changing,
)

from . import locks, seatmap_cache, services


@receiver(showtime_cancelled, sender=Showtime)
def end_bookings_of_cancelled_show(sender: type, showtime: Showtime, **kwargs: Any) -> None:
    services.cancel_bookings_of_show(showtime=showtime)


@receiver(showtime_terms_changing, sender=Showtime)
def end_lapsed_bookings_of_changing_show(sender: type, showtime_id: int, **kwargs: Any) -> None:
    services.end_payable_lapsed_bookings(showtime_id=showtime_id)


@receiver(showtime_changed, sender=Showtime)
def redraw_changed_show(sender: type, showtime_id: int, **kwargs: Any) -> None:
    seatmap_cache.seats_changed(showtime_id)


@receiver(seat_grid_changing, sender=Screen)
def lock_shows_of_screen(sender: type, screen_id: int, **kwargs: Any) -> None:
    """A grid rebuild waits for the holds in flight on the screen's shows (they share the
    show's row), and they for it; its foreign-key check then sees their bookings and refuses
    (409 ``screen_has_bookings``) rather than deleting seats a hold is writing rows for."""
    locks.lock_shows_of_screen(screen_id=screen_id)


@receiver(seat_grid_changed, sender=Screen)
def redraw_shows_of_screen(sender: type, screen_id: int, **kwargs: Any) -> None:
    for showtime_id in Showtime.objects.filter(screen_id=screen_id).values_list("pk", flat=True):
        seatmap_cache.seats_changed(showtime_id)


@receiver(local_time_changed, sender=Theater)
def reprice_shows_of_theater(sender: type, theater_id: int, **kwargs: Any) -> None:
    """The theater's time zone changed: its shows' morning prices may have (the seat maps are
    redrawn; prices frozen on bookings stay as they were)."""
    shows = Showtime.objects.filter(screen__theater_id=theater_id).values_list("pk", flat=True)
    for showtime_id in shows:
        seatmap_cache.seats_changed(showtime_id)

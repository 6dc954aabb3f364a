"""The schedule's reactions to catalog changes (inside the catalog's transaction)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from boxoffice.catalog.models import Movie, Screen
from boxoffice.catalog.signals import timing_changed

from .services import respan_shows


@receiver(timing_changed, sender=Movie)
def movie_duration_spans_its_shows(sender: type, instance: Movie, **kwargs: Any) -> None:
    respan_shows(movie=instance)


@receiver(timing_changed, sender=Screen)
def screen_cleaning_spans_its_shows(sender: type, instance: Screen, **kwargs: Any) -> None:
    respan_shows(screen=instance)

"""The waitlist's background work: offering a show's freed seats (queued by :mod:`.receivers`
when seats of a show with waiting entries change, and run for every such show by the
housekeeping sweep, for holds that lapse by time without any write)."""

from __future__ import annotations

from django.tasks import task

from . import services


@task()
def offer_freed_seats(*, showtime_id: int) -> int:
    """Offer the show's free seats to its waiting entries (:func:`services.make_offers`); a
    lock timeout fails the run, and the next change or sweep runs it again."""
    return services.make_offers(showtime_id=showtime_id)

"""The waitlist's reactions to the layers below: seats of a show changed (a cancellation, a
lapsed hold tidied, an unblocked seat, an exchange: whatever frees a seat goes through
``seatmap_cache.seats_changed``; an offer's payment too, which the offer task then records on
its entry), a show cancelled. Each runs inside the
writer's transaction, so the task is queued if and only if the change commits."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from boxoffice.booking.models import SeatChange
from boxoffice.booking.signals import seats_changed
from boxoffice.schedule.models import Showtime
from boxoffice.schedule.signals import showtime_cancelled

from . import services
from .models import EntryStatus, WaitlistEntry


@receiver(seats_changed, sender=SeatChange)
def offer_freed_seats(sender: type, change: SeatChange, **kwargs: Any) -> None:
    """Queue the show's offers when someone waits for it. Queued for any change (a hold takes
    seats, a cancel frees them: the feed does not say which); a run that finds no party that
    fits costs one read of the seats."""
    showtime_id = change.showtime_id
    if WaitlistEntry.objects.filter(showtime_id=showtime_id, status=EntryStatus.WAITING).exists():
        from .tasks import offer_freed_seats as task

        task.enqueue(showtime_id=showtime_id)


@receiver(showtime_cancelled, sender=Showtime)
def end_entries_of_cancelled_show(sender: type, showtime: Showtime, **kwargs: Any) -> None:
    services.end_entries(showtime_id=showtime.pk)

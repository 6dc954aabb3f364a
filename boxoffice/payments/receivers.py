"""Reactions to booking changes, queued in the same transaction as the change."""

from __future__ import annotations

from django.dispatch import receiver

from boxoffice.booking.models import Booking
from boxoffice.booking.signals import booking_cancelled


@receiver(booking_cancelled, sender=Booking)
def refund_cancelled_booking(sender, booking: Booking, was_paid: bool, **kwargs) -> None:  # type: ignore[no-untyped-def]
    if was_paid:
        from .tasks import refund_booking_task

        refund_booking_task.enqueue(
            booking_id=booking.pk, reason=booking.cancel_reason or "cancelled"
        )

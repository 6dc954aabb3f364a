"""Queue the customer's emails in the same transaction as the booking change: the email is
queued if and only if the change commits."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.dispatch import receiver

from boxoffice.booking.models import Booking
from boxoffice.booking.signals import booking_cancelled, booking_confirmed

from .models import EmailNotification


def _queue(booking: Booking, kind: str) -> None:
    from .tasks import send_booking_email

    try:
        with transaction.atomic():
            note = EmailNotification.objects.create(booking=booking, kind=kind)
    except IntegrityError:
        return  # already owed: never two receipts for one booking
    send_booking_email.enqueue(notification_id=note.pk)


@receiver(booking_confirmed, sender=Booking)
def queue_receipt(sender, booking: Booking, **kwargs) -> None:
    _queue(booking, EmailNotification.Kind.RECEIPT)


@receiver(booking_cancelled, sender=Booking)
def queue_cancellation(sender, booking: Booking, **kwargs) -> None:
    _queue(booking, EmailNotification.Kind.CANCELLATION)

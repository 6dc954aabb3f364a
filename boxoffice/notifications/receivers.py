"""Queue the customer's emails in the same transaction as the booking change: the email is
queued if and only if the change commits."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.dispatch import receiver

from boxoffice.booking.models import Booking
from boxoffice.booking.signals import booking_cancelled, booking_confirmed

from .models import EmailNotification


def queue_booking_email(booking: Booking, kind: str, *, link: str = "") -> None:
    """Owe the customer an email about ``booking`` (at most one per kind), sent by the worker;
    call it inside the transaction of the change it reports. The layers above use it too (the
    waitlist's offer, with the link to pay)."""
    from .tasks import send_booking_email

    try:
        with transaction.atomic():
            note = EmailNotification.objects.create(booking=booking, kind=kind, link=link)
    except IntegrityError:
        return  # already owed: never two receipts for one booking
    send_booking_email.enqueue(notification_id=note.pk)


_queue = queue_booking_email


@receiver(booking_confirmed, sender=Booking)
def queue_receipt(sender, booking: Booking, **kwargs) -> None:
    _queue(booking, EmailNotification.Kind.RECEIPT)


@receiver(booking_cancelled, sender=Booking)
def queue_cancellation(sender, booking: Booking, **kwargs) -> None:
    _queue(booking, EmailNotification.Kind.CANCELLATION)

"""Reactions to booking changes, queued in the same transaction as the change: a refund is
owed if and only if the change that owes it commits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.dispatch import receiver

from boxoffice.booking.models import Booking
from boxoffice.booking.signals import holds_ended, refund_due

from .services import refund_reason
from .tasks import close_unpaid_intents_task, refund_booking_task


@receiver(refund_due, sender=Booking)
def refund_owed_money(
    sender: type,
    booking: Booking,
    reason: str = "",
    amount: Decimal | None = None,
    **kwargs: Any,
) -> None:
    refund_booking_task.enqueue(
        booking_id=booking.pk,
        reason=reason or refund_reason(booking),
        amount=None if amount is None else str(amount),
    )


@receiver(holds_ended, sender=Booking)
def close_unpaid_payments(sender: type, booking_ids: list[int], **kwargs: Any) -> None:
    close_unpaid_intents_task.enqueue(booking_ids=list(booking_ids))

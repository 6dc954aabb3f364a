from __future__ import annotations

from django.db import models
from django.utils import timezone

from boxoffice.booking.models import Booking


class StripeEvent(models.Model):
    """The event ledger: every webhook event we accepted, once, by Stripe's id. A replay finds
    its row (the unique id) and is acknowledged without acting again."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payment_intent_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    received_at = models.DateTimeField(default=timezone.now)
    # What the event did (confirmed, refunding, mismatch, ...; empty while it is being handled)
    # and, for some outcomes, why (refunding: seats_lost; mismatch: amount).
    outcome = models.CharField(max_length=64, blank=True, default="")
    reason = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        outcome = f"{self.outcome}: {self.reason}" if self.reason else self.outcome
        return f"{self.event_id} {self.type} ({outcome})"


class RefundQuerySet(models.QuerySet):
    def succeeded(self) -> RefundQuerySet:
        return self.filter(status=Refund.Status.SUCCEEDED)

    def gave_up(self) -> RefundQuerySet:
        """Refunds the worker stopped retrying (TASK_RETRY_LIMIT reached) and that have not
        succeeded since: money still owed to a customer, an admin's to look at."""
        return self.filter(status=Refund.Status.PENDING, failed_at__isnull=False)

    def pending(self) -> RefundQuerySet:
        return self.filter(status=Refund.Status.PENDING, failed_at__isnull=True)

    def record_give_up(self, *, booking_id: int, reason: str) -> int:
        """Mark the booking's pending refund for ``reason`` as given up (the worker's retries
        ran out); the number of rows marked (0 when it succeeded meanwhile, or never started)."""
        return self.filter(
            booking_id=booking_id, reason=reason, status=Refund.Status.PENDING
        ).update(failed_at=timezone.now())


class Refund(models.Model):
    """A refund we asked Stripe for: at most one per booking and reason (the constraint), so a
    retried task or a second process cannot refund twice. ``failed_at`` records that the worker
    gave up retrying it (``last_error`` says why); a later success leaves it as history, the
    status tells what holds now."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="refunds")
    reason = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True, default="")
    payment_intent_id = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The payment refunded: the booking's own, or (money brought by an exchange) "
        "the payment of the booking it was exchanged from.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker gave up retrying; empty while it tries."
    )

    objects = RefundQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["booking", "reason"], name="payments_refund_once_per_reason"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="payments_refund_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} for booking {self.booking_id} ({self.status})"

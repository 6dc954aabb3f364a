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
    outcome = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"


class Refund(models.Model):
    """A refund we asked Stripe for: at most one per booking and reason (the constraint), so a
    retried task or a second process cannot refund twice."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"

    booking = models.ForeignKey(Booking, on_delete=models.PROTECT, related_name="refunds")
    reason = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    stripe_refund_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

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

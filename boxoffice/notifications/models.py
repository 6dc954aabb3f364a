from __future__ import annotations

from django.db import models
from django.utils import timezone

from boxoffice.booking.models import Booking


class EmailNotification(models.Model):
    """One email we owe a customer about a booking: at most one per booking and kind (the
    constraint), created in the same transaction as the change it reports. ``sent_at`` makes a
    second run of the task (a replayed event, a re-queued task) a no-op."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt with tickets"
        CANCELLATION = "cancellation", "Cancellation"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="notifications_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for booking {self.booking_id} ({'sent' if self.sent_at else 'due'})"

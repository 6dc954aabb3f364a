from __future__ import annotations

from django.db import models
from django.utils import timezone

from boxoffice.booking.models import Booking


class EmailNotificationQuerySet(models.QuerySet):
    def sent(self) -> EmailNotificationQuerySet:
        return self.filter(sent_at__isnull=False)

    def gave_up(self) -> EmailNotificationQuerySet:
        """Emails the worker stopped retrying (TASK_RETRY_LIMIT reached): an admin's to look at."""
        return self.filter(sent_at__isnull=True, failed_at__isnull=False)

    def pending(self) -> EmailNotificationQuerySet:
        """Owed and still being tried (queued, in progress, or waiting for a retry)."""
        return self.filter(sent_at__isnull=True, failed_at__isnull=True)


class EmailNotification(models.Model):
    """One email we owe a customer about a booking: at most one per booking and kind (the
    constraint), created in the same transaction as the change it reports. ``sent_at`` makes a
    second run of the task (a replayed event, a re-queued task) a no-op. ``failed_at`` records
    that the worker gave up after TASK_RETRY_LIMIT attempts (``last_error`` says why); an admin
    can queue it again from the admin site."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        GAVE_UP = "gave_up", "Gave up"

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt with tickets"
        CANCELLATION = "cancellation", "Cancellation"
        OFFER = "offer", "Waitlist offer"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the worker gave up retrying; empty while it tries."
    )
    link = models.URLField(
        max_length=500,
        blank=True,
        default="",
        help_text="A link the email carries (a waitlist offer: the shop's checkout page).",
    )

    objects = EmailNotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["booking", "kind"], name="notifications_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} for booking {self.booking_id} ({self.State(self.state).label})"

    @property
    def state(self) -> str:
        if self.sent_at is not None:
            return self.State.SENT
        if self.failed_at is not None:
            return self.State.GAVE_UP
        return self.State.PENDING

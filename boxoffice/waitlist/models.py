"""A show's waitlist: customers waiting for N seats together, and the offers made to them.

An entry's life (``status``, changed only by conditional UPDATEs in :mod:`.services`)::

    waiting --(seats came free and its party fits)--> offered --(the offer is paid)--> booked
       |                                                  |
       |                                                  +--(not paid in time, or cancelled)--> lapsed
       +--(the customer leaves; from offered too: the offer's hold ends)--> left
       +--(the show starts or is cancelled; from offered too once its offer lapsed)--> ended

A lapsed offer does not put the entry back in the queue: its seats go to the next entry, and
the customer may join again (at the back). ``offer`` is the pending booking held for the entry:
a foreign key the database checks, one booking per entry (the booking app keeps the entry's
id on the booking, ``Booking.waitlist_entry``, without knowing this model).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from boxoffice.booking.models import Booking
from boxoffice.schedule.models import Showtime


class EntryStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    OFFERED = "offered", "Offered"
    BOOKED = "booked", "Booked"
    LAPSED = "lapsed", "Offer lapsed"
    LEFT = "left", "Left"
    ENDED = "ended", "Ended"


# An entry that still holds its place: one per customer and show (the constraint below).
ACTIVE = (EntryStatus.WAITING, EntryStatus.OFFERED)


class WaitlistEntry(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    showtime = models.ForeignKey(
        Showtime, on_delete=models.PROTECT, related_name="waitlist_entries"
    )
    quantity = models.PositiveSmallIntegerField()
    status = models.CharField(
        max_length=16, choices=EntryStatus.choices, default=EntryStatus.WAITING
    )
    created_at = models.DateTimeField(default=timezone.now)
    offer = models.OneToOneField(
        Booking,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="waitlist_offer",
        help_text="The pending booking held for this entry (status offered, then booked).",
    )
    offered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    base_url = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Where the shop was when the customer joined (PUBLIC_BASE_URL, else the "
        "request's scheme and host): the offer email's link to pay starts with it.",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["showtime", "status", "created_at"], name="waitlist_queue_idx"),
            models.Index(fields=["user", "-created_at"], name="waitlist_user_recent_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "showtime"],
                condition=models.Q(status__in=ACTIVE),
                name="waitlist_one_active_entry",
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=1), name="waitlist_quantity_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=EntryStatus.values), name="waitlist_status_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(status=EntryStatus.OFFERED) | models.Q(offer__isnull=False),
                name="waitlist_offered_has_offer",
            ),
        ]

    def __str__(self) -> str:
        return f"Waitlist entry #{self.pk} ({self.status})"

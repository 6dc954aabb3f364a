"""Waitlist reads: a customer's entries with their place in the queue, in one query."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from boxoffice.accounts.models import User

from .models import EntryStatus, WaitlistEntry


def with_position(entries: QuerySet[WaitlistEntry]) -> QuerySet[WaitlistEntry]:
    """``position``: 1 for the first waiting entry of its show, 2 for the next, ...; None for
    an entry that is not waiting (offered, or ended)."""
    ahead = (
        WaitlistEntry.objects.filter(
            showtime_id=OuterRef("showtime_id"), status=EntryStatus.WAITING
        )
        .filter(
            Q(created_at__lt=OuterRef("created_at"))
            | Q(created_at=OuterRef("created_at"), pk__lt=OuterRef("pk"))
        )
        .order_by()
        .values("showtime_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return entries.annotate(ahead=Coalesce(Subquery(ahead, output_field=IntegerField()), Value(0)))


def entries_of(user: User) -> QuerySet[WaitlistEntry]:
    """The customer's own entries, newest first, with their show and offer."""
    return with_position(
        WaitlistEntry.objects.filter(user=user)
        .select_related("showtime__movie", "showtime__screen__theater", "offer")
        .order_by("-created_at", "-id")
    )

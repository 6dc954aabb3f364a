"""Tidy up lapsed holds and old idempotency keys.

Correctness never waits for this: a lapsed hold already counts as free in every read and
write. Running it (from cron, every few minutes) only rewrites rows so that the tables say
what the clock already says, and keeps the idempotency table small.

    python manage.py expire_holds
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from boxoffice.booking.services import expire_bookings
from boxoffice.core.idempotency import IDEMPOTENCY_TTL
from boxoffice.core.models import IdempotencyKey


class Command(BaseCommand):
    help = "Mark lapsed pending bookings expired, free their seats, drop idempotency keys > 24h."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        expired = expire_bookings()
        cutoff = timezone.now() - IDEMPOTENCY_TTL
        keys, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(f"Expired {expired} booking(s); removed {keys} idempotency key(s).")

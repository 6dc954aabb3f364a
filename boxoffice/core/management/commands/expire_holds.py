"""Run every housekeeping job once: tidy lapsed holds, finish show cancellations, drop old
idempotency keys, enqueue payment reconciliation (whatever the apps registered; see
:mod:`boxoffice.core.housekeeping`).

Correctness never waits for this: a lapsed hold already counts as free in every read and
write. Running it (from cron, every few minutes, where no ``manage.py worker`` runs) only
rewrites rows so that the tables say what the clock already says.

    python manage.py expire_holds
"""

from typing import Any

from django.core.management.base import BaseCommand

from boxoffice.core import housekeeping


class Command(BaseCommand):
    help = "Run the housekeeping jobs once (lapsed holds, cancelled shows, old keys, reconciling)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, result in housekeeping.run().items():
            self.stdout.write(f"{name}: {result}")

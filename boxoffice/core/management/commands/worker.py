"""The background worker: django-tasks-db's ``db_worker`` plus periodic housekeeping.

    python manage.py worker

Every HOUSEKEEPING_SECONDS (60) a thread re-queues tasks left RUNNING by a dead worker, tidies
lapsed holds and enqueues payment reconciliation. Run as many workers as you like: they claim
tasks with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and housekeeping is idempotent.
"""

from __future__ import annotations

import logging
import threading

from django.db import close_old_connections, connection
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

log = logging.getLogger("boxoffice.worker")
HOUSEKEEPING_SECONDS = 60


def housekeeping() -> None:
    from boxoffice.booking.services import expire_bookings
    from boxoffice.core.tasks import requeue_stale_tasks
    from boxoffice.payments.tasks import reconcile_payments_task

    requeue_stale_tasks()
    expire_bookings()
    reconcile_payments_task.enqueue()


def _loop(stop: threading.Event) -> None:
    while not stop.wait(HOUSEKEEPING_SECONDS):
        try:
            close_old_connections()
            housekeeping()
        except Exception:
            log.exception("housekeeping failed; will try again")
        finally:
            connection.close()


class Command(DBWorkerCommand):
    help = "Run background tasks (db_worker) with periodic housekeeping."

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        options["reload"] = False
        stop = threading.Event()
        threading.Thread(target=_loop, args=(stop,), daemon=True, name="housekeeping").start()
        try:
            return super().handle(*args, **options)
        finally:
            stop.set()

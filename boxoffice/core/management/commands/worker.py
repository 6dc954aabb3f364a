"""The background worker: django-tasks-db's ``db_worker`` plus periodic housekeeping.

    python manage.py worker

Every WORKER_HOUSEKEEPING_SECONDS (default 60) a thread runs the housekeeping jobs the apps
registered (:mod:`boxoffice.core.housekeeping`: re-queue tasks left RUNNING by a dead worker, tidy
lapsed holds, finish show cancellations, enqueue payment reconciliation). Run as many workers as
you like: they claim tasks with SELECT ... FOR UPDATE SKIP LOCKED on PostgreSQL, and housekeeping
is idempotent.

db_worker itself exits on the first database error outside a task (a PostgreSQL restart or
failover cuts its connection); this worker waits and carries on instead, so a database
outage never silently stops emails and refunds (tests/resilience/test_postgres_restart.py).
A task cut off mid-run is left RUNNING and re-queued by housekeeping after TASK_STALE_SECONDS.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
)
from django_tasks_db.management.commands.db_worker import Command as DBWorkerCommand

from boxoffice.core import housekeeping

log = logging.getLogger("boxoffice.worker")
DATABASE_RETRY_SECONDS = 1.0


def _loop(stop: threading.Event) -> None:
    while not stop.wait(settings.WORKER_HOUSEKEEPING_SECONDS):
        try:
            close_old_connections()
            housekeeping.run()
        except Exception:
            log.exception("housekeeping failed; will try again")
        finally:
            connection.close()


class Command(DBWorkerCommand):
    help = "Run background tasks (db_worker) with periodic housekeeping."

    def handle(self, *args: Any, **options: Any) -> None:
        options["reload"] = False
        stop = threading.Event()
        threading.Thread(target=_loop, args=(stop,), daemon=True, name="housekeeping").start()
        try:
            while True:
                try:
                    return super().handle(*args, **options)
                except (OperationalError, InterfaceError) as exc:
                    log.warning(
                        "database unavailable (%s); the worker carries on in %.0f s",
                        exc,
                        DATABASE_RETRY_SECONDS,
                    )
                    with contextlib.suppress(DatabaseError):
                        connection.close()
                    time.sleep(DATABASE_RETRY_SECONDS)
                    options["startup_delay"] = False
        finally:
            stop.set()

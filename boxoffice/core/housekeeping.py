"""Periodic housekeeping, filled in by the apps: core knows nothing of them.

Each app registers its idempotent jobs in its ``AppConfig.ready`` (the booking app tidies lapsed
holds, payments enqueues reconciliation, ...). ``manage.py worker`` runs them every
WORKER_HOUSEKEEPING_SECONDS; ``manage.py expire_holds`` runs them once, from cron. Every job must
be safe to run at any time, from any number of processes at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("boxoffice.housekeeping")

_JOBS: dict[str, Callable[[], object]] = {}


def register(name: str, job: Callable[[], object]) -> None:
    """Add (or replace) the job called ``name``; jobs run in the order first registered."""
    _JOBS[name] = job


def jobs() -> dict[str, Callable[[], object]]:
    return dict(_JOBS)


def run() -> dict[str, object]:
    """Run every job once; one failing job is logged and does not stop the others."""
    results: dict[str, object] = {}
    for name, job in _JOBS.items():
        try:
            results[name] = job()
        except Exception:
            log.exception("housekeeping job %s failed; it runs again next time", name)
            results[name] = "failed"
    return results

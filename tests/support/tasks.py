"""The worker's queued tasks, run in the test's process."""

from __future__ import annotations


def run_worker() -> None:
    """Run every queued task that is due, as ``manage.py worker`` would, then return."""
    from django.core.management import call_command

    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )

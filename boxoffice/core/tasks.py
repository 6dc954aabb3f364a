"""Helpers for background tasks (Django's tasks framework, django-tasks-db backend).

django-tasks-db runs a task once and records failure; it does not retry. Tasks that talk to the
outside world (SMTP, Stripe) call :func:`retry_later` on a transient failure, which enqueues the
same task again with an exponential delay, up to TASK_RETRY_LIMIT attempts; past that it
returns False and the caller records that it gave up.

A worker that dies mid-task leaves its row RUNNING forever; :func:`requeue_stale_tasks` puts
rows RUNNING for longer than TASK_STALE_SECONDS back in the queue. Tasks are therefore written
to be safe to run twice (each checks what is already done before acting).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)


def retry_later(task: Any, *, attempt: int, **kwargs: Any) -> bool:
    """Enqueue ``task(**kwargs, attempt=attempt + 1)`` after a backoff and return True; return
    False, enqueueing nothing, once TASK_RETRY_LIMIT attempts are spent.

    On False the caller records the give-up on its own row (``EmailNotification.failed_at``,
    ``Refund.failed_at``) so that the admin site lists it: a log line alone is forgotten.
    Call it inside the transaction that releases the caller's claim, so the retry is queued if
    and only if the claim is released."""
    if attempt + 1 >= settings.TASK_RETRY_LIMIT:
        log.error("task %s gave up after %d attempts", task.name, attempt + 1)
        return False
    delay = settings.TASK_RETRY_BASE_SECONDS * (2**attempt)
    task.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
        **kwargs, attempt=attempt + 1
    )
    return True


def requeue_stale_tasks() -> int:
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.TASK_STALE_SECONDS)
    count = DBTaskResult.objects.filter(
        status=TaskResultStatus.RUNNING, started_at__lt=cutoff
    ).update(status=TaskResultStatus.READY, run_after=now, started_at=None)
    if count:
        log.warning("re-queued %d task(s) left RUNNING by a dead worker", count)
    return count

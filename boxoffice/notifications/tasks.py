"""Sending the customer's emails, from the background worker.

Whatever stops an email (the mail server down, a template error, a database blip, any bug), the
row is released and the task retried with backoff (:func:`boxoffice.core.tasks.retry_later`);
when the retries run out the row records it (``failed_at``, ``last_error``) and the admin site
lists it under "gave up", where an admin can queue it again. A row the task could not even
release (the database gone at that moment, the worker killed) keeps a claim that goes stale:
:func:`resend_stale_claims`, a housekeeping job, queues those again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.tasks import task
from django.utils import timezone

from boxoffice.core.tasks import retry_later

from .emails import compose
from .models import EmailNotification

log = logging.getLogger(__name__)


@task()
def send_booking_email(*, notification_id: int, attempt: int = 0) -> str:
    """Send one owed email once. The claim (a conditional UPDATE) keeps two workers from sending
    the same email at once; a claim older than TASK_STALE_SECONDS belongs to a dead worker and
    may be taken over. A worker dying between the SMTP hand-off and recording ``sent_at`` is the
    one case that can send twice (at-least-once delivery, as with any SMTP client)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.TASK_STALE_SECONDS)
    claimed = (
        EmailNotification.objects.filter(pk=notification_id, sent_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_at=now)
    )
    if not claimed:
        return "already sent or in progress"
    try:
        note = EmailNotification.objects.get(pk=notification_id)
        compose(note).send()
    except Exception as exc:  # SMTP or not: a template error, a database blip, a bug
        return _failed(notification_id=notification_id, attempt=attempt, exc=exc)
    EmailNotification.objects.filter(pk=notification_id).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1, last_error="", failed_at=None
    )
    return "sent"


def _failed(*, notification_id: int, attempt: int, exc: Exception) -> str:
    """Release the claim, count the attempt and queue the retry, in one transaction (so the
    email is either released with its retry queued, or still claimed for the stale-claim
    sweep: never released and forgotten); or record the give-up when retries ran out."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning(
        "email %s failed (attempt %d): %s",
        notification_id,
        attempt + 1,
        type(exc).__name__,
        exc_info=not isinstance(exc, OSError),  # a traceback for anything but a network error
    )
    with transaction.atomic():
        retrying = retry_later(send_booking_email, attempt=attempt, notification_id=notification_id)
        EmailNotification.objects.filter(pk=notification_id).update(
            claimed_at=None,
            attempts=F("attempts") + 1,
            last_error=error,
            failed_at=None if retrying else timezone.now(),
        )
    if not retrying:
        log.error("email %s: gave up after %d attempts: %s", notification_id, attempt + 1, error)
        return "gave up"
    return "retrying"


def retry_given_up(notification_ids: list[int]) -> int:
    """Queue given-up emails again from a fresh count of retries (the admin's action); the
    number queued. Emails sent meanwhile, or still being tried, are left alone."""
    queued = 0
    for pk in notification_ids:
        with transaction.atomic():
            if (
                EmailNotification.objects.gave_up()
                .filter(pk=pk)
                .update(failed_at=None, claimed_at=None)
            ):
                send_booking_email.enqueue(notification_id=pk)
                queued += 1
    return queued


def resend_stale_claims() -> int:
    """Housekeeping: queue again every unsent email whose claim is older than
    TASK_STALE_SECONDS, i.e. whose task died or failed before it could release it. The claim is
    released here, so the next run does not queue it again. Returns how many were queued."""
    stale = timezone.now() - timedelta(seconds=settings.TASK_STALE_SECONDS)
    queued = 0
    for pk, attempts in (
        EmailNotification.objects.pending()
        .filter(claimed_at__lt=stale)
        .values_list("pk", "attempts")[:500]
    ):
        with transaction.atomic():  # released and queued together; once, whoever runs this
            if EmailNotification.objects.filter(pk=pk, claimed_at__lt=stale).update(
                claimed_at=None
            ):
                send_booking_email.enqueue(notification_id=pk, attempt=attempts)
                queued += 1
    if queued:
        log.warning("re-queued %d email(s) left claimed by a task that died", queued)
    return queued

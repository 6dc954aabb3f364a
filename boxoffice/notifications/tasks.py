"""Sending the customer's emails, from the background worker."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
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
    note = EmailNotification.objects.get(pk=notification_id)
    try:
        compose(note).send()
    except (smtplib.SMTPException, OSError) as exc:
        EmailNotification.objects.filter(pk=note.pk).update(
            claimed_at=None,
            attempts=note.attempts + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        log.warning(
            "email %s for booking %s failed (attempt %d): %s",
            note.kind,
            note.booking_id,
            attempt + 1,
            type(exc).__name__,
        )
        retry_later(send_booking_email, attempt=attempt, notification_id=notification_id)
        return "retrying"
    EmailNotification.objects.filter(pk=note.pk).update(
        sent_at=timezone.now(), attempts=note.attempts + 1, last_error=""
    )
    return "sent"

"""The background worker and the customer's emails: SMTP outages, dead workers, cancellations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from boxoffice.core.tasks import requeue_stale_tasks
from boxoffice.notifications.models import EmailNotification
from tests.support.net import free_port, wait_for
from tests.support.smtp import StallingSmtp
from tests.support.tasks import run_worker

from .helpers import confirmed_booking, hold

pytestmark = pytest.mark.django_db(transaction=True)

SEND_EMAIL = "boxoffice.notifications.tasks.send_booking_email"


def _mailer(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def test_smtp_down_then_back_sends_the_receipt_exactly_once(
    customer_api, showtime, no_webhook, smtp_server, settings
):
    inbox, live_port = smtp_server
    settings.MAILERS = _mailer(free_port())  # nothing listens there: connection refused
    booking = confirmed_booking(customer_api, showtime)

    before = timezone.now()
    run_worker()
    assert inbox.messages == []
    note = EmailNotification.objects.get(booking_id=booking["id"])
    assert note.sent_at is None
    assert note.claimed_at is None  # released for the retry
    assert note.attempts == 1
    assert "ConnectionRefusedError" in note.last_error
    first = DBTaskResult.objects.exclude(status="READY").get(task_path=SEND_EMAIL)
    assert first.status == "SUCCESSFUL"  # the task itself handled the failure ...
    retry = DBTaskResult.objects.get(task_path=SEND_EMAIL, status="READY")  # ... and queued this
    assert retry.args_kwargs["kwargs"] == {"notification_id": note.pk, "attempt": 1}
    delay = retry.run_after - before
    assert timedelta(seconds=settings.TASK_RETRY_BASE_SECONDS - 1) < delay
    assert delay < timedelta(seconds=settings.TASK_RETRY_BASE_SECONDS + 10)

    run_worker()  # not due yet: nothing happens
    assert EmailNotification.objects.get(pk=note.pk).attempts == 1

    settings.MAILERS = _mailer(live_port)  # the mail server is back ...
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # ... and time passed
    run_worker()
    assert len(inbox.messages) == 1
    assert "Metropolis" in inbox.messages[0]["Subject"]
    note.refresh_from_db()
    assert note.sent_at is not None
    assert (note.attempts, note.last_error) == (2, "")

    run_worker()
    assert len(inbox.messages) == 1
    assert not DBTaskResult.objects.filter(status="READY").exists()


def test_retries_back_off_and_give_up_at_the_limit(
    customer_api, showtime, no_webhook, smtp_server, settings
):
    inbox, _ = smtp_server
    settings.MAILERS = _mailer(free_port())
    settings.TASK_RETRY_BASE_SECONDS = 0  # every retry is due at once
    settings.TASK_RETRY_LIMIT = 3
    booking = confirmed_booking(customer_api, showtime)

    run_worker()  # attempt 0 fails, 1 fails, 2 fails and gives up
    note = EmailNotification.objects.get(booking_id=booking["id"])
    assert note.attempts == 3
    assert note.sent_at is None
    assert DBTaskResult.objects.filter(task_path=SEND_EMAIL).count() == 3
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert inbox.messages == []


def test_cancelling_a_pending_booking_mails_the_customer_once(
    customer_api, showtime, no_webhook, smtp_server
):
    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)
    response = customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert response.status_code == 200
    assert inbox.messages == []  # the worker sends it, not the request

    run_worker()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "alice@example.com"
    assert "cancelled" in mail["Subject"]
    parts = {part.get_content_type(): part for part in mail.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "cancelled" in text
    assert "Nothing was charged" in text
    assert "text/html" in parts
    assert not [p for p in mail.walk() if p.get_content_type() == "image/png"]

    assert customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/").status_code == 409
    run_worker()
    assert len(inbox.messages) == 1


# --- a worker that dies mid-task ---------------------------------------------------------------


def test_task_left_running_by_a_dead_worker_is_requeued_and_sent_once(
    customer_api, showtime, no_webhook, smtp_server
):
    """What a worker killed mid-send leaves behind, written directly: its task row RUNNING
    since long ago and the email claimed long ago. (The PostgreSQL run also kills a real
    worker process below; SQLite's in-memory test database cannot be shared with one.)"""
    inbox, _ = smtp_server
    booking = confirmed_booking(customer_api, showtime)
    long_ago = timezone.now() - timedelta(hours=1)
    task = DBTaskResult.objects.get(task_path=SEND_EMAIL)
    DBTaskResult.objects.filter(pk=task.pk).update(
        status="RUNNING", started_at=long_ago, worker_ids=["dead-worker"]
    )
    EmailNotification.objects.filter(booking_id=booking["id"]).update(claimed_at=long_ago)

    run_worker()  # a RUNNING row is not picked up by itself
    assert inbox.messages == []

    assert requeue_stale_tasks() == 1
    run_worker()
    assert len(inbox.messages) == 1
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert task.return_value == "sent"
    assert EmailNotification.objects.get(booking_id=booking["id"]).sent_at is not None

    assert requeue_stale_tasks() == 0
    run_worker()
    assert len(inbox.messages) == 1


def test_a_fresh_claim_is_not_taken_over(customer_api, showtime, no_webhook, smtp_server):
    """A running task is not re-queued before TASK_STALE_SECONDS, and a second task for an
    email that another worker is sending right now does not send it too."""
    from boxoffice.notifications.tasks import send_booking_email

    inbox, _ = smtp_server
    booking = confirmed_booking(customer_api, showtime)
    now = timezone.now()
    DBTaskResult.objects.filter(task_path=SEND_EMAIL).update(status="RUNNING", started_at=now)
    note = EmailNotification.objects.get(booking_id=booking["id"])
    EmailNotification.objects.filter(pk=note.pk).update(claimed_at=now)

    assert requeue_stale_tasks() == 0
    send_booking_email.enqueue(notification_id=note.pk)
    run_worker()
    assert inbox.messages == []
    assert DBTaskResult.objects.get(task_path=SEND_EMAIL, status="SUCCESSFUL").return_value == (
        "already sent or in progress"
    )


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
def test_real_worker_killed_mid_send_is_recovered_and_sends_once(
    customer_api, showtime, no_webhook, smtp_server, settings, localstripe, tmp_path: Path
):
    """Start `manage.py worker` against the test database, let it pick up the receipt and
    hang on an SMTP server that never answers, kill -9 it, then recover."""
    inbox, _ = smtp_server
    booking = confirmed_booking(customer_api, showtime)
    stalling = StallingSmtp()
    log = (tmp_path / "worker.log").open("wb")
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "EMAIL_URL": f"smtp://127.0.0.1:{stalling.port}",  # timeout 10 s: we kill it before
        "STRIPE_API_BASE": localstripe,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    manage = Path(__file__).resolve().parents[2] / "manage.py"
    worker = subprocess.Popen(
        [sys.executable, str(manage), "worker", "--no-startup-delay", "--interval", "0.1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        task = DBTaskResult.objects.get(task_path=SEND_EMAIL)

        def inside_the_send() -> bool:
            task.refresh_from_db()
            note = EmailNotification.objects.get(booking_id=booking["id"])
            return task.status == "RUNNING" and note.claimed_at is not None

        wait_for(inside_the_send, timeout=30)
        time.sleep(0.3)  # well inside smtplib's wait for a greeting
        os.kill(worker.pid, signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        log.close()
        stalling.close()

    task.refresh_from_db()
    assert task.status == "RUNNING"  # what a dead worker leaves behind
    note = EmailNotification.objects.get(booking_id=booking["id"])
    assert note.sent_at is None
    assert inbox.messages == []

    assert requeue_stale_tasks() == 0  # not stale yet: it could be a slow live worker
    settings.TASK_STALE_SECONDS = 1
    time.sleep(1.1)
    assert requeue_stale_tasks() == 1
    run_worker()
    assert len(inbox.messages) == 1
    assert "Metropolis" in inbox.messages[0]["Subject"]
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    run_worker()
    assert len(inbox.messages) == 1

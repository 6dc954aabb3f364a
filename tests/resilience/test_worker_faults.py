"""The worker process against real faults: the SMTP server down for a while, and the worker
itself killed (SIGKILL) in the middle of a send. A real `manage.py worker` process each time,
on a database of our own PostgreSQL cluster."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.smtp import SmtpServer, StallingSmtp

from .stack import PgCluster, stack_on, wait_for

pytestmark = pytest.mark.resilience

SEND_EMAIL = "boxoffice.notifications.tasks.send_booking_email"


def _note(stack, notification_id: int) -> tuple:  # type: ignore[no-untyped-def]
    return stack.query(
        "SELECT attempts, sent_at, claimed_at, last_error FROM notifications_emailnotification "
        "WHERE id = %s",
        (notification_id,),
    )[0]


def _tasks(stack) -> list[tuple]:  # type: ignore[no-untyped-def]
    return stack.query(
        "SELECT status, return_value::text FROM django_tasks_database_dbtaskresult "
        "WHERE task_path = %s ORDER BY enqueued_at",
        (SEND_EMAIL,),
    )


def test_smtp_down_then_back_mail_sent_once(
    pg_cluster: PgCluster, logs: Path, record: dict
) -> None:
    record.update(
        scenario="SMTP server down for a while",
        how=(
            "a confirmed booking's receipt; manage.py worker against our own PostgreSQL with "
            "nothing listening on the SMTP port (TASK_RETRY_BASE_SECONDS=1); aiosmtpd started "
            "on that port after 3 failed attempts"
        ),
    )
    smtp = SmtpServer(port=free_port())  # not started: connection refused
    with stack_on(
        pg_cluster, "smtp_down", logs, EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}"
    ) as stack:
        booking = stack.remote("confirmed_booking")
        assert booking["outcome"] == "confirmed"
        note_id = booking["notification_id"]
        worker = stack.start_worker()
        try:
            wait_for(lambda: _note(stack, note_id)[0] >= 3, timeout=30, what="3 failed sends")
            failed = _note(stack, note_id)
            assert failed[1] is None
            assert "ConnectionRefusedError" in failed[3]
            down_for = time.monotonic()
            smtp.start()
            wait_for(lambda: smtp.inbox.messages, timeout=30, what="the receipt")
            waited = time.monotonic() - down_for
            # Give a duplicate every chance to show up: the worker keeps polling meanwhile.
            time.sleep(3)
            assert worker.poll() is None, stack.procs.log_tail("worker")
        finally:
            smtp.stop()
        attempts, sent_at, _, last_error = _note(stack, note_id)
        tasks = _tasks(stack)
        record["figures"] = {
            "failed_attempts_while_down": failed[0],
            "attempts_total": attempts,
            "seconds_from_server_back_to_mail": round(waited, 1),
            "mails_received": len(smtp.inbox.messages),
            "send_tasks": len(tasks),
            "emails_lost": 0 if sent_at else 1,
            "duplicates": len(smtp.inbox.messages) - 1,
        }
        assert len(smtp.inbox.messages) == 1
        assert "Metropolis" in smtp.inbox.messages[0]["Subject"]
        assert sent_at is not None
        assert last_error == ""
        assert attempts == failed[0] + 1
        assert all(status == "SUCCESSFUL" for status, _ in tasks), tasks
        assert tasks[-1][1] == '"sent"'


def test_worker_killed_mid_send_completes_once(
    pg_cluster: PgCluster, logs: Path, record: dict
) -> None:
    record.update(
        scenario="Worker killed mid-task",
        how=(
            "manage.py worker picks up a receipt and hangs in the SMTP greeting (a server that "
            "never answers); kill -9; requeue_stale_tasks (TASK_STALE_SECONDS=2) in another "
            "process; a new worker sends it to aiosmtpd"
        ),
    )
    stalling = StallingSmtp()
    smtp = SmtpServer()
    smtp.start()
    with stack_on(pg_cluster, "worker_killed", logs, TASK_STALE_SECONDS="2") as stack:
        try:
            booking = stack.remote("confirmed_booking")
            note_id = booking["notification_id"]
            first = stack.start_worker("worker-1", EMAIL_URL=f"smtp://127.0.0.1:{stalling.port}")

            def inside_the_send() -> bool:
                running = [s for s, _ in _tasks(stack) if s == "RUNNING"]
                return bool(running) and _note(stack, note_id)[2] is not None

            wait_for(inside_the_send, timeout=30, what="the worker inside the send")
            time.sleep(0.3)
            stack.procs.kill("worker-1", signal.SIGKILL)
            assert first.returncode == -signal.SIGKILL
            left = _tasks(stack)
            assert [s for s, _ in left] == ["RUNNING"]  # what a dead worker leaves behind
            assert _note(stack, note_id)[1] is None
            stalling.close()

            time.sleep(2.2)  # older than TASK_STALE_SECONDS
            assert stack.remote("requeue") == {"requeued": 1}
            second = stack.start_worker("worker-2", EMAIL_URL=f"smtp://127.0.0.1:{smtp.port}")
            wait_for(lambda: smtp.inbox.messages, timeout=30, what="the receipt")
            time.sleep(3)  # a second send would show up now
            assert second.poll() is None, stack.procs.log_tail("worker-2")
            assert stack.remote("requeue") == {"requeued": 0}
        finally:
            smtp.stop()
            stalling.close()
        tasks = _tasks(stack)
        attempts, sent_at, _, _ = _note(stack, note_id)
        record["figures"] = {
            "workers_killed": 1,
            "tasks_requeued": 1,
            "mails_received": len(smtp.inbox.messages),
            "task_runs_completed": sum(1 for s, _ in tasks if s == "SUCCESSFUL"),
            "emails_lost": 0 if sent_at else 1,
            "duplicates": len(smtp.inbox.messages) - 1,
        }
        assert len(smtp.inbox.messages) == 1
        assert sent_at is not None
        assert attempts == 1  # the killed attempt never recorded a result
        assert tasks == [("SUCCESSFUL", '"sent"')]

"""The Stripe emulator killed (SIGKILL) while customers book and while a paid booking is
cancelled: gunicorn, the worker and localstripe are real processes. localstripe keeps its
objects in a state file of its own (see localstripe_isolated.py), so the PaymentIntent
survives the restart, as it would at Stripe."""

from __future__ import annotations

import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from tests.support.stripe import localstripe_list

from .stack import PgCluster, pay, stack_on, stripe_client, wait_for

pytestmark = pytest.mark.resilience

REFUND_TASK = "boxoffice.payments.tasks.refund_booking_task"


def test_stripe_down_while_booking_and_while_refunding(
    pg_cluster: PgCluster, logs: Path, record: dict
) -> None:
    record.update(
        scenario="Stripe emulator down while booking and while refunding",
        how=(
            "gunicorn + manage.py worker + localstripe (state kept on disk); localstripe "
            "killed -9 before POST /bookings/ and its pay step, restarted; a paid booking cancelled with "
            "localstripe killed, restarted later; the worker retries (TASK_RETRY_BASE_SECONDS=1)"
        ),
    )
    with stack_on(pg_cluster, "stripe_down", logs) as stack:
        stack.start_localstripe()
        stack.start_web(workers=2)
        worker = stack.start_worker()
        stack.register_webhook()
        info = stack.remote("seed", customers=1, shows=1, rows=2, per_row=5)
        showtime = info["showtimes"][0]
        api = requests.Session()
        api.headers["Authorization"] = (
            f"Bearer {stack.token(info['customers'][0], info['password'])}"
        )

        def seat_status() -> dict[int, str]:
            seats = api.get(f"{stack.web}/api/v1/showtimes/{showtime}/seats/", timeout=10).json()[
                "seats"
            ]
            return {s["id"]: s["status"] for s in seats}

        wanted = sorted(seat_status())[:2]

        # --- booking while Stripe is down -------------------------------------------------------
        # A hold never calls Stripe: it is made while Stripe is down; the pay step answers 503
        # with Retry-After and keeps the hold, and the retry once Stripe is back opens the payment.
        stack.procs.kill("localstripe", signal.SIGKILL)
        held = api.post(
            f"{stack.web}/api/v1/bookings/",
            json={"showtime": showtime, "seats": wanted},
            timeout=60,
        )
        assert held.status_code == 201, held.text
        booking = held.json()
        assert booking["payment"] is None
        pay_url = f"{stack.web}/api/v1/bookings/{booking['id']}/pay/"
        started = time.monotonic()
        refused = api.post(pay_url, timeout=60)
        refused_after = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert refused.json()["errors"][0]["code"] == "payments_unavailable"
        assert int(refused.headers["Retry-After"]) > 0
        assert [seat_status()[s] for s in wanted] == ["held", "held"]
        assert stack.query("SELECT count(*) FROM booking_bookingseat WHERE is_live") == [(2,)]
        assert stack.query("SELECT status, payment_intent_id FROM booking_booking") == [
            ("pending", "")
        ]

        stack.start_localstripe()
        stack.register_webhook()
        opened = api.post(pay_url, timeout=60)
        assert opened.status_code == 200, opened.text
        intent = opened.json()["client_secret"].split("_secret_")[0]
        assert pay(stripe_client(stack.stripe), intent) == "succeeded"

        def booking_now() -> dict:
            return api.get(f"{stack.web}/api/v1/bookings/{booking['id']}/", timeout=10).json()

        wait_for(lambda: booking_now()["status"] == "confirmed", timeout=20, what="the webhook")

        # --- refunding while Stripe is down -----------------------------------------------------
        stack.procs.kill("localstripe", signal.SIGKILL)
        cancelled = api.post(f"{stack.web}/api/v1/bookings/{booking['id']}/cancel/", timeout=60)
        assert cancelled.status_code == 200, cancelled.text
        body = cancelled.json()
        assert body["status"] == "cancelled"
        assert Decimal(body["paid_amount"]) == Decimal(booking["total"])
        assert Decimal(body["refunded_amount"]) == 0
        assert [seat_status()[s] for s in wanted] == ["available", "available"]
        # The refund is the worker's (queued with the cancellation): it tries, and fails.
        wait_for(
            lambda: stack.query("SELECT status FROM payments_refund") == [("pending",)],
            timeout=20,
            what="the worker's first refund attempt",
        )

        def attempts() -> int:
            return stack.query("SELECT attempts FROM payments_refund")[0][0]

        def failed_tries() -> int:
            return stack.query(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult "
                "WHERE task_path = %s AND return_value = '\"retrying\"'::jsonb",
                (REFUND_TASK,),
            )[0][0]

        # The worker's tries with backoff (1 s, 2 s, ...).
        wait_for(lambda: failed_tries() >= 2, timeout=40, what="the worker retrying the refund")
        attempts_while_down = attempts()
        assert stack.query("SELECT status FROM payments_refund") == [("pending",)]
        down_since = time.monotonic()
        stack.start_localstripe()
        stack.register_webhook()

        def refunded() -> bool:
            ((refunded_amount, paid),) = stack.query(
                "SELECT b.refunded_amount, b.paid_amount FROM booking_booking b WHERE b.id = %s",
                (booking["id"],),
            )
            return refunded_amount == paid > 0

        wait_for(refunded, timeout=40, what="the refund")
        refund_after = time.monotonic() - down_since
        time.sleep(3)  # any further retry would refund again now
        refunds = [
            r for r in localstripe_list(stack.stripe, "refunds") if r["payment_intent"] == intent
        ]
        tasks = stack.query(
            "SELECT status, return_value::text FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = %s ORDER BY enqueued_at",
            (REFUND_TASK,),
        )
        refund_row = stack.query("SELECT status, attempts, stripe_refund_id FROM payments_refund")
        record["figures"] = {
            "pay_while_down": f"{refused.status_code} after {refused_after:.1f} s, hold kept",
            "refund_attempts_failed_while_down": attempts_while_down,
            "worker_tries_failed_while_down": 2,
            "refund_attempts_total": refund_row[0][1],
            "seconds_from_stripe_back_to_refund": round(refund_after, 1),
            "refunds_in_stripe": len(refunds),
            "refund_tasks": [status for status, _ in tasks],
            "bookings_lost": 0,
        }
        assert len(refunds) == 1
        assert refunds[0]["amount"] == round(Decimal(booking["total"]) * 100)
        assert refund_row[0][0] == "succeeded"
        assert refund_row[0][2] == refunds[0]["id"]
        assert Decimal(booking_now()["refunded_amount"]) == Decimal(booking["total"])
        assert tasks[-1][0] == "SUCCESSFUL"
        assert tasks[-1][1].startswith('"refunded')
        assert not [t for t in tasks if t[0] in ("READY", "RUNNING", "FAILED")]
        assert [t[1] for t in tasks[:-1]] == ['"retrying"'] * (len(tasks) - 1)
        assert refund_row[0][1] == attempts_while_down + 1
        assert worker.poll() is None
        api.close()

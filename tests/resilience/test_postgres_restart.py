"""PostgreSQL restarted in the middle of a load of holds and payments.

gunicorn (3 workers), the worker and localstripe run against a cluster of our own; eight
customers hold seats, proceed to pay (POST /bookings/{id}/pay/) and pay for some of them for ~20 s while the cluster is stopped (fast
shutdown: every connection is cut) and started again two seconds later. Nothing is restarted
but PostgreSQL. Then: the service answers again, no seat is sold twice, every payment
localstripe took belongs to a confirmed (or refunded) booking, and the worker kept working.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.support.stripe import localstripe_list

from .stack import PgCluster, pay, stack_on, stripe_client, wait_for

pytestmark = pytest.mark.resilience

CLIENTS = 8
LOAD_SECONDS = 20.0
OUTAGE_AT = 7.0
OUTAGE_SECONDS = 2.0
# After PostgreSQL is back, a request may still be in flight from before; a new one must work.
RECOVERY_GRACE = 1.0


@dataclass
class Call:
    op: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer (connection error, timeout)


@dataclass
class LoadLog:
    calls: list[Call] = field(default_factory=list)
    paid: dict[int, str] = field(default_factory=dict)  # booking id -> intent id (succeeded)
    payment_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)


def _customer(
    web: str, stripe: str, token: str, showtimes: list[int], t0: float, stop: threading.Event,
    log: LoadLog, seed: int,
) -> None:  # fmt: skip
    rng = random.Random(seed)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    client = stripe_client(stripe)

    def call(op: str, method: str, path: str, **kwargs: object) -> requests.Response | None:
        started = time.monotonic() - t0
        try:
            response = session.request(method, f"{web}{path}", timeout=15, **kwargs)
        except requests.RequestException:
            log.add(Call(op, started, time.monotonic() - t0, 0))
            return None
        log.add(Call(op, started, time.monotonic() - t0, response.status_code))
        return response

    try:
        while not stop.is_set():
            showtime = rng.choice(showtimes)
            seats = call("seatmap", "GET", f"/api/v1/showtimes/{showtime}/seats/")
            if seats is None or seats.status_code != 200:
                time.sleep(0.05)
                continue
            free = [s["id"] for s in seats.json()["seats"] if s["status"] == "available"]
            if not free:
                time.sleep(0.05)
                continue
            wanted = rng.sample(free, min(len(free), rng.randint(1, 3)))
            held = call(
                "hold", "POST", "/api/v1/bookings/", json={"showtime": showtime, "seats": wanted}
            )
            if held is None or held.status_code != 201:
                continue
            booking = held.json()
            roll = rng.random()
            if roll < 0.6:
                # Proceed to pay: the pay step opens (or returns) the PaymentIntent.
                opened = call("pay", "POST", f"/api/v1/bookings/{booking['id']}/pay/")
                if opened is None or opened.status_code != 200:
                    continue
                intent = opened.json()["client_secret"].split("_secret_")[0]
                try:
                    status = pay(client, intent)
                except Exception as exc:  # what a browser would see; counted, not raised
                    with log.lock:
                        log.payment_errors.append(type(exc).__name__)
                    continue
                if status == "succeeded":
                    with log.lock:
                        log.paid[booking["id"]] = intent
            elif roll < 0.8:
                call("cancel", "POST", f"/api/v1/bookings/{booking['id']}/cancel/")
            # else: abandoned; the hold lapses by itself
    finally:
        session.close()


def test_postgres_restart_under_load(pg_cluster: PgCluster, logs: Path, record: dict) -> None:
    record.update(
        scenario="PostgreSQL restarted during a load of holds and payments",
        how=(
            f"own cluster; gunicorn 3 workers + manage.py worker + localstripe; {CLIENTS} "
            f"customers hold/pay/cancel for {LOAD_SECONDS:.0f} s; pg_ctl stop -m fast at "
            f"{OUTAGE_AT:.0f} s, start {OUTAGE_SECONDS:.0f} s later; then reconcile_payments"
        ),
    )
    with stack_on(
        pg_cluster, "restart_under_load", logs, BOOKING_HOLD_SECONDS="20", TASK_STALE_SECONDS="5"
    ) as stack:
        stack.start_localstripe(from_scratch=True)
        gunicorn = stack.start_web(workers=3)
        worker = stack.start_worker()
        stack.register_webhook()
        info = stack.remote("seed", customers=CLIENTS, shows=2, rows=10, per_row=20)
        tokens = [stack.token(name, info["password"]) for name in info["customers"]]

        log = LoadLog()
        stop = threading.Event()
        t0 = time.monotonic()
        threads = [
            threading.Thread(
                target=_customer,
                args=(stack.web, stack.stripe, token, info["showtimes"], t0, stop, log, i),
                name=f"customer-{i}",
            )
            for i, token in enumerate(tokens)
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(OUTAGE_AT)
            down_at = time.monotonic() - t0
            pg_cluster.stop("fast")
            time.sleep(OUTAGE_SECONDS)
            pg_cluster.start()
            up_at = time.monotonic() - t0
            time.sleep(max(0.0, LOAD_SECONDS - (time.monotonic() - t0)))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads)

        # Let localstripe's last deliveries (one second after each payment) arrive, then settle
        # what the outage lost, as the worker's housekeeping would.
        time.sleep(2.5)
        reconciled = stack.manage("reconcile_payments").strip()
        stack.remote("requeue")  # tasks a worker was running when the connection was cut

        # --- figures ---------------------------------------------------------------------------
        calls = log.calls
        in_outage = [c for c in calls if c.ended >= down_at and c.started <= up_at + RECOVERY_GRACE]
        errors = [c for c in calls if c.status >= 500 or c.status == 0]
        outside = [c for c in errors if c not in in_outage]
        after = [c for c in calls if c.started > up_at + RECOVERY_GRACE]
        holds = [c for c in calls if c.op == "hold"]
        pays = [c for c in calls if c.op == "pay"]
        statuses: dict[str, int] = {}
        for c in in_outage:
            statuses[str(c.status)] = statuses.get(str(c.status), 0) + 1

        double_live = stack.query(
            "SELECT showtime_id, seat_id FROM booking_bookingseat WHERE is_live "
            "GROUP BY 1, 2 HAVING count(*) > 1"
        )
        double_sold = stack.query(
            "SELECT s.showtime_id, s.seat_id FROM booking_bookingseat s "
            "JOIN booking_booking b ON b.id = s.booking_id WHERE b.status = 'confirmed' "
            "GROUP BY 1, 2 HAVING count(DISTINCT b.id) > 1"
        )
        confirmed_not_live = stack.query(
            "SELECT s.id FROM booking_bookingseat s JOIN booking_booking b ON b.id = s.booking_id "
            "WHERE b.status = 'confirmed' AND NOT s.is_live"
        )
        succeeded = {
            int(pi["metadata"]["booking_id"]): pi["id"]
            for pi in localstripe_list(stack.stripe, "payment_intents")
            if pi["status"] == "succeeded"
        }
        bookings = {
            row[0]: row[1:]
            for row in stack.query(
                "SELECT id, status, payment_intent_id, paid_amount, refunded_amount, total "
                "FROM booking_booking"
            )
        }

        def settled(booking_id: int) -> bool:
            status, intent, paid, refunded, total = bookings[booking_id]
            if intent != succeeded[booking_id] or paid != total:
                return False
            return status == "confirmed" or (status == "cancelled" and refunded == paid)

        # Refunds (a payment for seats lost after the hold lapsed) are the worker's job.
        def refunds_done() -> bool:
            nonlocal bookings
            bookings = {
                row[0]: row[1:]
                for row in stack.query(
                    "SELECT id, status, payment_intent_id, paid_amount, refunded_amount, total "
                    "FROM booking_booking"
                )
            }
            return all(settled(b) for b in succeeded)

        with contextlib.suppress(AssertionError):  # judged below, with the figures
            wait_for(refunds_done, timeout=30, what="every payment settled")
        lost = sorted(b for b in succeeded if not settled(b))
        confirmed = {b for b, row in bookings.items() if row[0] == "confirmed"}
        unpaid_confirmed = sorted(confirmed - set(succeeded))
        refunded = sum(1 for b in succeeded if bookings[b][0] == "cancelled")

        def mails_sent() -> bool:
            unsent = stack.query(
                "SELECT count(*) FROM notifications_emailnotification n "
                "JOIN booking_booking b ON b.id = n.booking_id "
                "WHERE n.kind = 'receipt' AND n.sent_at IS NULL"
            )[0][0]
            return unsent == 0

        mails_ok = True
        try:
            wait_for(mails_sent, timeout=30, what="every receipt sent by the worker")
        except AssertionError:
            mails_ok = False
        record["figures"] = {
            "requests": len(calls),
            "holds_tried": len(holds),
            "holds_made": sum(1 for c in holds if c.status == 201),
            "holds_refused_409": sum(1 for c in holds if c.status == 409),
            "pay_steps_tried": len(pays),
            "pay_steps_opened": sum(1 for c in pays if c.status == 200),
            "payments_succeeded": len(succeeded),
            "payments_seen_by_clients": len(log.paid),
            "payment_errors_at_client": len(log.payment_errors),
            "confirmed_bookings": len(confirmed),
            "refunded_after_seats_lost": refunded,
            "outage_window_s": [round(down_at, 2), round(up_at, 2)],
            "requests_in_outage_window": len(in_outage),
            "status_in_outage_window": statuses,
            "5xx_or_no_answer_total": len(errors),
            "5xx_outside_outage_window": len(outside),
            "500_in_outage_window": sum(1 for c in in_outage if c.status == 500),
            "requests_after_recovery": len(after),
            "ok_after_recovery": sum(1 for c in after if c.status < 500 and c.status != 0),
            "reconcile_payments": reconciled,
            "bookings_lost": len(lost),
            "double_sales": len(double_live) + len(double_sold),
            "gunicorn_restarted": False,
            "worker_alive_after": worker.poll() is None,
            "worker_database_errors_survived": (logs / "worker.log")
            .read_text(errors="replace")
            .count("database unavailable"),
            "receipts_all_sent": mails_ok,
        }
        print(record["figures"])

        assert gunicorn.poll() is None, stack.procs.log_tail("gunicorn")
        assert not double_live
        assert not double_sold
        assert not confirmed_not_live
        assert lost == [], (lost, reconciled)
        assert unpaid_confirmed == []
        assert set(log.paid) <= set(succeeded)
        assert [(c.op, c.status, round(c.started, 2)) for c in outside] == []
        # An unreachable database is a retryable 503 (with Retry-After), never a bug's 500.
        assert [(c.op, c.status) for c in in_outage if c.status == 500] == []
        assert after, "no requests after PostgreSQL came back"
        assert any(c.status == 200 for c in pays), "no payment was ever opened"
        assert all(c.status < 500 and c.status != 0 for c in after), [
            (c.op, c.status) for c in after if c.status >= 500 or c.status == 0
        ]
        assert worker.poll() is None, stack.procs.log_tail("worker")
        assert mails_ok

"""Buyers racing for seats on PostgreSQL: the database, not Python, keeps a seat from being held
or sold twice.

Real threads, each with its own API client authenticated as its own customer (Bearer) and its
own database connection (closed when the thread ends), released together by a barrier so the
availability check, the INSERT and the commits really interleave. A 500 surfaces as an exception
re-raised by the test client and is counted as a failure. The negative control (run with
NEGATIVE_CONTROLS=1) drops the partial unique index and shows a seat then sold twice.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from boxoffice.booking import services, states
from boxoffice.booking.models import Booking, BookingSeat, BookingStatus
from boxoffice.catalog.models import Seat
from tests.booking.helpers import hold, lapse
from tests.concurrency.guards import without_index
from tests.conftest import bearer, make_user
from tests.invariants import assert_money_invariant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

Outcome = services.PaymentOutcome


@pytest.fixture(autouse=True)
def _refunds_without_stripe(monkeypatch):  # type: ignore[no-untyped-def]
    """These races record payments directly, with made-up PaymentIntent ids (pi_race_<id>),
    so the money invariant sweep can run their refunds: Stripe's refund call is stubbed."""
    from boxoffice.payments import gateway

    monkeypatch.setattr(
        gateway, "create_refund", lambda *, booking_id, **kwargs: f"re_race_{booking_id}"
    )


def run_together(jobs: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Run each job in its own thread, all released at once; return their results in order.
    Any exception (a 500 included) fails the test."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = jobs[index]()
        except BaseException:
            with lock:
                errors.append(traceback.format_exc())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == [], "\n\n".join(errors)
    return results


def seats_of(showtime) -> list[int]:  # type: ignore[no-untyped-def]
    return list(
        Seat.objects.filter(screen_id=showtime.screen_id)
        .order_by("row_index", "number")
        .values_list("pk", flat=True)
    )


def max_live_rows_per_seat(showtime) -> int:  # type: ignore[no-untyped-def]
    counts = (
        BookingSeat.objects.filter(showtime=showtime, is_live=True)
        .values("seat_id")
        .annotate(n=Count("id"))
        .values_list("n", flat=True)
    )
    return max(counts, default=0)


def customers(n: int, prefix: str) -> list[Any]:
    return [bearer(make_user(f"{prefix}{i}")) for i in range(n)]


def test_thirty_buyers_for_one_seat(showtime):
    seat = seats_of(showtime)[7]
    clients = customers(30, "buyer")

    codes = run_together(
        [lambda c=c: hold(c, showtime, [seat]).status_code for c in clients]  # type: ignore[misc]
    )

    print(f"30 buyers, one seat: {sorted(Counter(codes).items())}")
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 29, codes
    assert BookingSeat.objects.filter(showtime=showtime, seat_id=seat, is_live=True).count() == 1
    assert Booking.objects.count() == 1  # the losers left nothing behind
    assert_money_invariant()


@pytest.mark.negative_control
def test_negative_control_without_the_unique_index_a_seat_is_sold_twice(showtime, monkeypatch):
    """The same race with the partial unique index on live (showtime, seat) dropped, and each
    buyer waiting a moment after the availability check (a test-only wrapper, so every check
    runs before any insert): the check alone lets several buyers through."""
    check = services.holds._refuse_by_rules

    def check_then_wait(**kwargs: Any) -> None:
        check(**kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(services.holds, "_refuse_by_rules", check_then_wait)
    seat = seats_of(showtime)[7]
    clients = customers(10, "buyer")

    def attempt(client: Any) -> int | str:
        try:
            return hold(client, showtime, [seat]).status_code
        except Exception as exc:  # without the index other things break too (deadlocks)
            return type(exc).__name__

    with without_index("booking_bookingseat", "booking_seat_live_once"):
        outcomes = run_together([lambda c=c: attempt(c) for c in clients])  # type: ignore[misc]
        live = BookingSeat.objects.filter(showtime=showtime, seat_id=seat, is_live=True).count()
        print(
            f"one seat, no unique index: {sorted(Counter(map(str, outcomes)).items())}, {live} live"
        )
        assert live > 1


def test_twenty_buyers_for_overlapping_groups(showtime):
    seats = seats_of(showtime)
    assert len(seats) == 20
    rng = random.Random(20261126)
    groups = [rng.sample(seats, 3) for _ in range(20)]
    clients = customers(20, "group")

    responses = run_together(
        [
            lambda c=c, g=g: (lambda r: (r.status_code, r.json()))(hold(c, showtime, g))  # type: ignore[misc]
            for c, g in zip(clients, groups, strict=True)
        ]
    )

    codes = [code for code, _ in responses]
    print(f"20 buyers, 3-seat groups: {sorted(Counter(codes).items())}")
    assert set(codes) <= {201, 409}, codes
    winners = [(groups[i], body) for i, (code, body) in enumerate(responses) if code == 201]
    assert winners, "somebody must get seats"
    # No seat twice, in the database and in the answers.
    assert max_live_rows_per_seat(showtime) == 1
    granted = [seat for group, _ in winners for seat in group]
    assert len(granted) == len(set(granted))
    for group, body in winners:
        assert sorted(s["id"] for s in body["seats"]) == sorted(group)
    live = BookingSeat.objects.filter(showtime=showtime, is_live=True)
    assert live.count() == 3 * codes.count(201)
    assert set(live.values_list("seat_id", flat=True)) == set(granted)
    # Every loser was refused for a seat some winner really holds.
    for i, (code, body) in enumerate(responses):
        if code == 409:
            assert set(groups[i]) & set(granted), (groups[i], body)
    assert_money_invariant()


def test_a_late_payment_races_a_new_buyer_for_a_lapsed_seat(showtime):
    """The first buyer's hold has run out; their payment lands just as another buyer asks for
    the same seat. Whoever the database lets through first gets it; never both."""
    seats = seats_of(showtime)
    first_user = make_user("late-payer")
    rounds = 10
    tally: Counter[str] = Counter()
    for round_ in range(rounds):
        seat = seats[round_]
        booking = services.create_hold(user=first_user, showtime=showtime, seat_ids=[seat])
        lapse(booking.pk)
        newcomer = bearer(make_user(f"newcomer{round_}"))

        def pay(booking_id: int = booking.pk) -> Outcome:
            late = Booking.objects.get(pk=booking_id)
            return services.record_payment(
                booking=late, amount=late.total, intent_id=f"pi_race_{booking_id}"
            ).outcome

        def buy(client: Any = newcomer, seat_id: int = seat) -> tuple[int, Any]:
            response = hold(client, showtime, [seat_id])
            return response.status_code, response.json()

        outcome, (code, body) = run_together([pay, buy])

        live = list(
            BookingSeat.objects.filter(showtime=showtime, seat_id=seat, is_live=True).values_list(
                "booking_id", flat=True
            )
        )
        assert len(live) == 1, (round_, live)
        booking.refresh_from_db()
        if outcome == Outcome.CONFIRMED:
            assert code == 409, (round_, code, body)
            assert live == [booking.pk]
            assert booking.status == BookingStatus.CONFIRMED
            tally["late payment won"] += 1
        else:
            assert outcome == Outcome.REFUND_DUE, (round_, outcome)
            assert code == 201, (round_, code, body)
            assert live == [body["id"]]
            assert booking.status != BookingStatus.CONFIRMED
            assert Booking.objects.get(pk=body["id"]).status == BookingStatus.PENDING
            tally["new buyer won"] += 1
    print(f"late payment vs new buyer, {rounds} rounds: {dict(tally)}")
    assert sum(tally.values()) == rounds
    assert_money_invariant()


THREADS = 8
SECONDS = 10.0
MAX_OPS_PER_THREAD = 250  # stays under the per-user throttle (1200/minute)


def test_ten_seconds_of_mixed_activity(showtime):
    """Holds, cancels, expiries (the clock moved by UPDATEs) and late confirmations from
    several customers at once on one 20-seat show; then the invariants."""
    seats = seats_of(showtime)
    users = [make_user(f"mixed{i}") for i in range(THREADS)]
    codes: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline: list[float] = []  # set just before the threads start

    def expire_own(booking_id: int) -> None:
        """Time passes for one of this customer's running holds (never a confirmed one)."""
        past = timezone.now() - timedelta(seconds=1)
        with transaction.atomic():
            if Booking.objects.filter(
                pk=booking_id, status=BookingStatus.PENDING, expires_at__gt=timezone.now()
            ).update(expires_at=past):
                BookingSeat.objects.filter(
                    booking_id=booking_id, hold_expires_at__isnull=False
                ).update(hold_expires_at=past)

    def customer_job(index: int) -> Callable[[], None]:
        user = users[index]
        client = bearer(user)
        rng = random.Random(1000 + index)

        def job() -> None:
            mine: list[int] = []
            for _ in range(MAX_OPS_PER_THREAD):
                if time.monotonic() > deadline[0]:
                    break
                roll = rng.random()
                if roll < 0.45 or not mine:
                    response = hold(client, showtime, rng.sample(seats, rng.randint(1, 3)))
                    code = response.status_code
                    if code == 201:
                        mine.append(response.json()["id"])
                elif roll < 0.60:
                    code = client.post(f"/api/v1/bookings/{rng.choice(mine)}/cancel/").status_code
                elif roll < 0.75:
                    expire_own(rng.choice(mine))
                    continue
                elif roll < 0.90:
                    booking = Booking.objects.get(pk=rng.choice(mine))
                    outcome = services.record_payment(
                        booking=booking, amount=booking.total, intent_id=f"pi_race_{booking.pk}"
                    ).outcome
                    with lock:
                        outcomes[str(outcome)] += 1
                    continue
                else:
                    code = client.get(f"/api/v1/showtimes/{showtime.pk}/seats/").status_code
                with lock:
                    codes[code] += 1

        return job

    jobs = [customer_job(i) for i in range(THREADS)]
    deadline.append(time.monotonic() + SECONDS)
    run_together(jobs, timeout=SECONDS + 120)

    print(f"mixed activity: HTTP {sorted(codes.items())}, confirmations {dict(outcomes)}")
    assert not [code for code in codes if code >= 500], codes
    assert set(codes) <= {200, 201, 409}, codes
    assert codes[201] > 0
    check_invariants(showtime)
    # After the tidy-up, rows say exactly what the clock says.
    services.expire_bookings()
    check_invariants(showtime, tidied=True)
    assert_money_invariant()


def check_invariants(showtime, *, tidied: bool = False) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    assert max_live_rows_per_seat(showtime) <= 1
    bookings = {b.pk: b for b in Booking.objects.filter(showtime=showtime)}
    rows_by_booking: dict[int, list[BookingSeat]] = {}
    for row in BookingSeat.objects.filter(showtime=showtime):
        rows_by_booking.setdefault(row.booking_id, []).append(row)

    for pk, booking in bookings.items():
        rows = rows_by_booking[pk]
        effective = states.effective_status(booking, now)
        if effective == BookingStatus.CONFIRMED:
            assert all(r.is_live and r.hold_expires_at is None for r in rows), pk
            assert booking.paid_amount == booking.total
        elif effective == BookingStatus.PENDING:
            assert all(r.is_live and r.hold_expires_at == booking.expires_at for r in rows), pk
        elif booking.status in (BookingStatus.CANCELLED, BookingStatus.EXPIRED):
            assert not any(r.is_live for r in rows), (pk, booking.status)
        else:
            # Pending in the row but past its hold: any row still live has lapsed too, so it
            # counts as free; a tidy-up leaves none of these behind.
            assert not tidied, pk
            assert all(
                r.hold_expires_at is not None and r.hold_expires_at <= now
                for r in rows
                if r.is_live
            )

    # The public views agree with the rows (the map is read fresh: the forced expiries moved
    # the clock behind the seat-map cache's back, which real time never does).
    from django.core.cache import cache

    cache.clear()
    taken = BookingSeat.objects.filter(showtime=showtime, is_live=True).exclude(
        hold_expires_at__lte=now
    )
    booked = set(taken.filter(hold_expires_at__isnull=True).values_list("seat_id", flat=True))
    held = set(taken.filter(hold_expires_at__isnull=False).values_list("seat_id", flat=True))
    reader = bearer(make_user(f"reader{int(time.time() * 1000)}"))
    seat_map = reader.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"]
    assert {s["id"] for s in seat_map if s["status"] == "booked"} == booked
    assert {s["id"] for s in seat_map if s["status"] == "held"} == held
    listing = reader.get("/api/v1/showtimes/").json()["results"]
    (row,) = [r for r in listing if r["id"] == showtime.pk]
    assert row["seats_available"] == len(seat_map) - len(booked) - len(held)

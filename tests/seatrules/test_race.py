"""Seat rules under races on PostgreSQL: 50 best-available buyers on one show (every seat at most
once, no 500, sold out as far as the rules allow), and two holds that together would strand a
seat (decided in turn: one is refused)."""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from boxoffice.booking import locks, services
from boxoffice.booking.models import BookingSeat
from boxoffice.catalog.models import Screen, Seat
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.core.errors import Conflict
from tests.conftest import bearer, make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_fifty_best_available_buyers_on_one_show(theater, make_showtime):
    screen = Screen.objects.create(theater=theater, name="Race")  # the gap rule is on
    generate_seat_grid(screen=screen, rows=8, seats_per_row=12, aisles_after=[3, 9])
    show = make_showtime(screen=screen)
    clients: list[APIClient] = [bearer(make_user(f"buyer{i}")) for i in range(50)]
    statuses: list[int] = []
    lock = threading.Lock()
    # 50 buyer threads, at most 20 with a database connection at a time: the server's
    # connection slots are shared with whatever else runs on it.
    slots = threading.BoundedSemaphore(20)

    def buy(client: APIClient, seed: int) -> None:
        rnd = random.Random(seed)
        slots.acquire()
        try:
            # Each buyer keeps buying: a party of 1 to 4, or one seat when no row has the
            # party together, until one seat is refused too (nothing left for it) or it
            # reaches the cap (BOOKING_MAX_SEATS per customer: 50 x 10 is far more than 96).
            for _ in range(30):
                for quantity in (rnd.choice([1, 2, 2, 3, 4]), 1):
                    response = client.post(
                        "/api/v1/bookings/",
                        {"showtime": show.pk, "quantity": quantity},
                        format="json",
                    )
                    with lock:
                        statuses.append(response.status_code)
                    if response.status_code == 201:
                        break
                    codes = [e["code"] for e in response.json()["errors"]]
                    assert set(codes) <= {"no_adjacent_seats", "hold_limit", "seats_unavailable"}
                    if "hold_limit" in codes:
                        return
                else:
                    return  # not even one seat: sold out for this buyer
        finally:
            connection.close()
            slots.release()

    threads = [threading.Thread(target=buy, args=(c, i)) for i, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    assert 500 not in statuses
    assert set(statuses) <= {201, 409}
    live = list(
        BookingSeat.objects.filter(showtime=show, is_live=True).values_list("seat_id", flat=True)
    )
    assert len(live) == len(set(live)), "a seat was sold twice"
    # Sold out as far as the rules allow: one seat can always be sold without stranding
    # another (an end of its free run; a pair's either seat; a lone seat), so every seat is.
    free = sorted(s.label for s in Seat.objects.filter(screen=screen).exclude(pk__in=live))
    assert free == [], f"{len(free)} seats left unsold: {free}"
    assert len(live) == 96


# --- the gap rule under a race ------------------------------------------------------------------
# In a row of nine, A3+A4 and A6+A7 are each a fine hold alone, but whichever commits second would
# leave A5 alone between them: with the holds decided in turn, exactly one of each pair is held.
# The guard is the per-row lock under which the hold re-checks the rule (``boxoffice.booking.locks.lock_rows``).

PAIRS = 8


def race_pairs_of_holds(theater, make_showtime) -> tuple[list[list[str]], object]:  # type: ignore[no-untyped-def]
    screen = Screen.objects.create(theater=theater, name="Gaps")  # the gap rule is on
    generate_seat_grid(screen=screen, rows=PAIRS, seats_per_row=9)
    show = make_showtime(screen=screen)
    seat_id = {s.label: s.pk for s in Seat.objects.filter(screen=screen)}
    rows = sorted({label[0] for label in seat_id})
    jobs = [
        (make_user(f"{side}{row}"), row, [seat_id[f"{row}{n}"] for n in numbers])
        for row in rows
        for side, numbers in (("left", (3, 4)), ("right", (6, 7)))
    ]
    outcomes: dict[str, list[str]] = {row: [] for row in rows}
    lock = threading.Lock()
    barrier = threading.Barrier(len(jobs))

    def hold(user, row: str, seats: list[int]) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        try:
            services.create_hold(user=user, showtime=show, seat_ids=seats)
            outcome = "held"
        except Conflict as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            outcomes[row].append(outcome)

    threads = [threading.Thread(target=hold, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return [sorted(outcomes[row]) for row in rows], show


def lone_fives(show) -> list[str]:  # type: ignore[no-untyped-def]
    live = set(
        BookingSeat.objects.filter(showtime=show, is_live=True).values_list(
            "seat__row", "seat__number"
        )
    )
    return [f"{row}5" for row, n in live if n == 4 and (row, 6) in live and (row, 5) not in live]


def test_two_holds_that_together_strand_a_seat_are_decided_in_turn(theater, make_showtime):
    outcomes, show = race_pairs_of_holds(theater, make_showtime)
    assert outcomes == [["held", "single_seat_gap"]] * PAIRS
    assert lone_fives(show) == []


@pytest.mark.negative_control
def test_negative_control_without_the_row_locks_seats_are_stranded(
    theater, make_showtime, monkeypatch
):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(locks, "lock_rows", lambda showtime_id, rows: None)
    outcomes, show = race_pairs_of_holds(theater, make_showtime)
    print(f"gap race without the row locks: {outcomes}")
    assert ["held", "held"] in outcomes
    assert lone_fives(show)

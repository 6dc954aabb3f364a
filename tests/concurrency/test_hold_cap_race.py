"""The per-customer cap under a race: one customer firing many holds at once on one show (real
threads, each its own database connection, on PostgreSQL) never holds more than
BOOKING_MAX_SEATS seats. The guard is the lock on the customer's row taken before counting;
the negative control removes it and shows the cap then breaks."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.db import connection

from boxoffice.booking import locks, services
from boxoffice.booking.models import BookingSeat
from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.core.errors import Conflict
from tests.conftest import future, make_user
from tests.invariants import assert_money_invariant

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 12
SEATS_EACH = 2


def race(showtime, customer) -> dict[str, int]:  # type: ignore[no-untyped-def]
    seats = list(showtime.screen.seats.order_by("pk").values_list("pk", flat=True))
    barrier = threading.Barrier(THREADS)
    outcomes = {"held": 0, "hold_limit": 0, "other": 0}
    lock = threading.Lock()

    def buyer(index: int) -> None:
        mine = seats[index * SEATS_EACH : (index + 1) * SEATS_EACH]
        barrier.wait()
        try:
            services.create_hold(user=customer, showtime=showtime, seat_ids=mine)
            key = "held"
        except Conflict as exc:
            key = "hold_limit" if exc.code == "hold_limit" else "other"
        finally:
            connection.close()
        with lock:
            outcomes[key] += 1

    threads = [threading.Thread(target=buyer, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.fixture
def big_show(theater, movie, make_showtime):  # type: ignore[no-untyped-def]
    screen = Screen.objects.create(theater=theater, name="Big")
    generate_seat_grid(screen=screen, rows=6, seats_per_row=10)
    return make_showtime(screen=screen, starts_at=future(days=2))


def held_seats(showtime) -> int:  # type: ignore[no-untyped-def]
    return BookingSeat.objects.filter(showtime=showtime, is_live=True).count()


def test_parallel_holds_of_one_customer_stay_under_the_cap(big_show):
    customer = make_user("greedy")
    outcomes = race(big_show, customer)
    print(f"cap race: {outcomes}")
    assert outcomes["other"] == 0
    assert outcomes["held"] == settings.BOOKING_MAX_SEATS // SEATS_EACH
    assert held_seats(big_show) == settings.BOOKING_MAX_SEATS
    assert_money_invariant()


@pytest.mark.negative_control
def test_negative_control_without_the_customer_lock_the_cap_breaks(big_show, monkeypatch):
    monkeypatch.setattr(locks, "lock_customer", lambda user: None)
    customer = make_user("greedy")
    outcomes = race(big_show, customer)
    print(f"cap race without the lock: {outcomes}, {held_seats(big_show)} seats held")
    assert held_seats(big_show) > settings.BOOKING_MAX_SEATS

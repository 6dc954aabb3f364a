"""Query counts stay flat as data grows.

The default cache in this project is the database cache table (shared by every server
process), used by the request throttle and the seat-map cache. Its queries are a fixed cost per
request that says nothing about how our own reads scale, so these tests switch the cache to
local memory and count only the application's queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boxoffice.booking import pricing, services
from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import generate_seat_grid
from tests.conftest import bearer, future, make_user

from .helpers import BOOKINGS, hold, seat_ids

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_memory_cache(settings):  # type: ignore[no-untyped-def]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    pricing.current_policy()  # the policy row exists in any running system
    yield
    cache.clear()


def grid_screen(theater, rows: int, per_row: int) -> Screen:  # type: ignore[no-untyped-def]
    # Without the single-seat gap rule: the holds below leave B2 alone on purpose.
    screen = Screen.objects.create(
        theater=theater, name=f"{rows}x{per_row}", single_seat_rule=False
    )
    generate_seat_grid(
        screen=screen, rows=rows, seats_per_row=per_row, tiers={"vip": ["A"], "premium": ["B"]}
    )
    return screen


@pytest.mark.parametrize(("rows", "per_row"), [(2, 5), (20, 20)], ids=["10-seats", "400-seats"])
def test_seat_map_cold_cache(
    api, theater, make_showtime, django_assert_max_num_queries, rows, per_row
):
    screen = grid_screen(theater, rows, per_row)
    showtime = make_showtime(screen=screen)
    # Some holds and a sale, so the statuses are really computed.
    labels = ["A1", "A2", "B1", "B3"]
    booking = services.create_hold(
        user=make_user("carol"), showtime=showtime, seat_ids=seat_ids(showtime, *labels)
    )
    services.record_payment(booking=booking, amount=booking.total)
    services.create_hold(
        user=make_user("dave"), showtime=showtime, seat_ids=seat_ids(showtime, "B2")
    )
    cache.clear()

    with django_assert_max_num_queries(3):
        response = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/")

    assert response.status_code == 200
    body = response.json()["seats"]
    assert len(body) == rows * per_row
    assert sum(s["status"] == "booked" for s in body) == 4
    assert sum(s["status"] == "held" for s in body) == 1


def test_booking_create_same_count_for_1_and_10_seats(customer, theater, make_showtime):
    screen = grid_screen(theater, 4, 5)
    shows = [make_showtime(screen=screen, starts_at=future(days=day, hour=19)) for day in (1, 2, 3)]
    client = bearer(customer)
    assert hold(client, shows[0], seat_ids(shows[0], "D1")).status_code == 201  # warm-up

    one_seat = seat_ids(shows[1], "C1")
    ten_seats = seat_ids(shows[2], *[f"C{n}" for n in range(1, 6)], *[f"D{n}" for n in range(1, 6)])
    with CaptureQueriesContext(connection) as one:
        assert hold(client, shows[1], one_seat).status_code == 201
    with CaptureQueriesContext(connection) as ten:
        assert hold(client, shows[2], ten_seats).status_code == 201

    assert len(ten) == len(one), "\n".join(q["sql"] for q in ten.captured_queries)


def test_booking_create_count_is_pinned(
    customer, other_customer, showtime, django_assert_num_queries
):
    """The same, asserted with pytest-django's fixture against the 1-seat count (the ten seats
    for another customer: one customer's holds total at most BOOKING_MAX_SEATS)."""
    client = bearer(customer)
    warm_up, one, ten = (
        seat_ids(showtime, "D5"),
        seat_ids(showtime, "D4"),
        seat_ids(showtime, *[f"{r}{n}" for r in "AB" for n in range(1, 6)]),
    )
    other = bearer(other_customer)
    assert hold(client, showtime, warm_up).status_code == 201
    assert hold(other, showtime, seat_ids(showtime, "D3")).status_code == 201  # its warm-up
    with CaptureQueriesContext(connection) as measured:
        assert hold(client, showtime, one).status_code == 201
    with django_assert_num_queries(len(measured)):
        assert hold(other, showtime, ten[:9]).status_code == 201


@pytest.mark.parametrize("n", [1, 50])
def test_booking_list(customer, theater, make_showtime, django_assert_max_num_queries, n):
    screen = grid_screen(theater, 10, 10)
    showtime = make_showtime(screen=screen)
    all_ids = list(screen.seats.order_by("row_index", "number").values_list("pk", flat=True))
    for i in range(n):
        booking = services.create_hold(
            user=customer, showtime=showtime, seat_ids=all_ids[2 * i : 2 * i + 2]
        )
        # Paid, so the per-customer cap on running holds does not stop the 50.
        services.record_payment(booking=booking, amount=booking.total)
    client = bearer(customer)
    admin = bearer(make_user("boss", role="admin", is_staff=True))

    for who in (client, admin):
        with django_assert_max_num_queries(4):
            response = who.get(BOOKINGS, {"page_size": 50})
        assert response.status_code == 200
        assert len(response.json()["results"]) == n
        assert all(len(row["seats"]) == 2 for row in response.json()["results"])


@pytest.mark.parametrize("n", [1, 50])
def test_showtime_list(api, customer, screen, make_showtime, django_assert_max_num_queries, n):
    start = future(days=1, hour=8)
    for i in range(n):
        show = make_showtime(starts_at=start + timedelta(hours=3 * i))
        services.create_hold(user=customer, showtime=show, seat_ids=seat_ids(show, "A1"))

    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/showtimes/", {"page_size": 50})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == n
    assert {row["seats_available"] for row in rows} == {19}


@pytest.mark.parametrize("by", ["seats", "quantity"])
def test_a_hold_is_answered_without_reading_it_back(customer, theater, make_showtime, by):
    """The 201 is drawn from the rows the hold just wrote (no query after its INSERTs reads a
    booking or its seats), and says exactly what reading the booking afterwards says."""
    show = make_showtime(screen=grid_screen(theater, 4, 5))
    client = bearer(customer)
    body = (
        {"showtime": show.pk, "seats": seat_ids(show, "B2", "A1", "C5")}
        if by == "seats"
        else {"showtime": show.pk, "quantity": 3}
    )
    with CaptureQueriesContext(connection) as queries:
        created = client.post(BOOKINGS, body, format="json")
    assert created.status_code == 201, created.content
    sqls = [q["sql"] for q in queries.captured_queries]
    written = max(i for i, sql in enumerate(sqls) if sql.startswith("INSERT"))
    read_back = [sql for sql in sqls[written:] if sql.startswith("SELECT") and "booking_" in sql]
    assert read_back == []
    assert len(created.json()["seats"]) == 3
    assert created.json() == client.get(f"{BOOKINGS}{created.json()['id']}/").json()

"""A screen's layout changing while customers hold its seats, on PostgreSQL.

1. Blocking seats (``PATCH /screens/{id}/seats/``) while holds of that screen commit: no
   deadlock, no 500. The guard: the layout edit locks the screen's seat rows ``FOR NO KEY
   UPDATE`` (``catalog.services._lock_seats_of``), which excludes other edits but not the
   key-share lock a hold's commit takes on the seats its new rows refer to. With a plain ``FOR
   UPDATE`` (b32745b) the hold's commit waited for the edit's seat locks while the edit waited
   for the seat-map token the hold had written: PostgreSQL broke the cycle with an error.
2. Rebuilding the seat grid (``POST /screens/{id}/seats/generate/``) while the first hold of a
   show of that screen is being written: either the hold wins (the rebuild is refused, 409
   ``screen_has_bookings``) or the rebuild wins (the hold is refused, 409), never a 500. The
   guard: the rebuild locks the screen's shows exclusively (``booking.locks.lock_shows_of_screen``,
   called by the booking app's receiver of ``seat_grid_changing``), so it waits for holds in flight and they for it.

As in the money races, the first actor pauses at its decision point with its locks taken, and
the second arrives inside that window.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.utils import timezone

from boxoffice.catalog import services as catalog
from boxoffice.catalog.models import Screen, Seat
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.catalog.signals import seat_grid_changed
from tests.conftest import bearer, make_user

from .test_money_races import Actor, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

PAUSE = 0.6
LATE = 0.15
TRIALS = 4


def seat_ids(screen_id: int) -> list[int]:
    return list(
        Seat.objects.filter(screen_id=screen_id)
        .order_by("row_index", "number")
        .values_list("pk", flat=True)
    )


def paused(module, name: str, *, when: str = "after"):  # type: ignore[no-untyped-def]
    """``module.name`` wrapped to sleep PAUSE seconds before or after it runs."""
    original = getattr(module, name)

    def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
        if when == "before":
            time.sleep(PAUSE)
        result = original(*args, **kwargs)
        if when == "after":
            time.sleep(PAUSE)
        return result

    return wrapper


# --- 1. blocking seats vs holds ----------------------------------------------------------------


def block_while_holding(make_showtime, monkeypatch, trials: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Each trial: an admin blocks a seat at the back (pausing with the screen's seats locked)
    while three customers hold seats at the front. Returns what went wrong."""
    show = make_showtime(starts_at=timezone.now() + timezone.timedelta(days=1))
    admin = bearer(make_user("planner", role="admin", is_staff=True))
    buyers = [bearer(make_user(f"buyer{i}")) for i in range(3)]
    seats = seat_ids(show.screen_id)
    monkeypatch.setattr(catalog, "companion_links", paused(catalog, "companion_links"))
    problems = []
    for trial in range(trials):
        back = seats[-1 - trial]
        actors = [
            Actor(
                "block",
                lambda s=back, t=trial: admin.patch(
                    f"/api/v1/screens/{show.screen_id}/seats/",
                    {"seats": [s], "blocked": t % 2 == 0},
                    format="json",
                ),
            )
        ] + [
            Actor(
                f"hold {i}",
                lambda c=client, s=seats[trial * 3 + i]: c.post(
                    "/api/v1/bookings/", {"showtime": show.pk, "seats": [s]}, format="json"
                ),
                delay=LATE,
            )
            for i, client in enumerate(buyers)
        ]
        for actor, done in zip(actors, race(*actors), strict=True):
            if done.error:
                problems.append(f"trial {trial} {actor.name}: {done.error[-400:]}")
            elif done.result.status_code not in (200, 201):
                problems.append(
                    f"trial {trial} {actor.name}: {done.result.status_code} "
                    f"{done.result.content[:300]!r}"
                )
    return problems


def test_blocking_seats_while_customers_hold_them(make_showtime, monkeypatch):
    problems = block_while_holding(make_showtime, monkeypatch, TRIALS)
    assert problems == []


@pytest.mark.negative_control
def test_negative_control_blocking_seats_with_a_full_row_lock(make_showtime, monkeypatch):
    def full_lock(screen):  # type: ignore[no-untyped-def]
        return list(Seat.objects.select_for_update().filter(screen=screen).order_by("id"))

    monkeypatch.setattr(catalog, "_lock_seats_of", full_lock)
    problems = block_while_holding(make_showtime, monkeypatch, TRIALS)
    print("NEGATIVE CONTROL blocking seats with FOR UPDATE:", problems[:2])
    assert problems


# --- 2. the grid rebuilt while the first hold is written ---------------------------------------


def rebuild_while_holding(make_showtime, theater, monkeypatch, trials: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Each trial a fresh screen's show. The hold goes first and, inside its transaction (the
    show's row shared), waits until the rebuild has replaced the grid (a receiver of
    ``seat_grid_changed`` says so, inside the rebuild's transaction) or for 2 s at most; then it
    writes its rows. With the guard the rebuild cannot get there before the hold commits."""
    from boxoffice.booking.services import holds

    rebuilt = threading.Event()

    def note_rebuilt(**kwargs):  # type: ignore[no-untyped-def]
        rebuilt.set()

    over_cap = holds._refuse_over_cap

    def wait_for_the_rebuild(**kwargs):  # type: ignore[no-untyped-def]
        over_cap(**kwargs)
        if rebuilt.wait(timeout=2):
            time.sleep(0.3)  # and for its commit

    monkeypatch.setattr(holds, "_refuse_over_cap", wait_for_the_rebuild)
    seat_grid_changed.connect(note_rebuilt, weak=False, dispatch_uid="test-note-rebuilt")
    admin = bearer(make_user("planner", role="admin", is_staff=True))
    buyer = bearer(make_user("first"))
    problems = []
    try:
        for trial in range(trials):
            rebuilt.clear()
            screen = Screen.objects.create(theater=theater, name=f"Screen {trial + 2}")
            generate_seat_grid(screen=screen, rows=2, seats_per_row=6)
            show = make_showtime(screen=screen)
            seat = seat_ids(show.screen_id)[0]
            hold = Actor(
                "hold",
                lambda s=seat, pk=show.pk: buyer.post(
                    "/api/v1/bookings/", {"showtime": pk, "seats": [s]}, format="json"
                ),
            )
            rebuild = Actor(
                "rebuild",
                lambda sc=show.screen_id: admin.post(
                    f"/api/v1/screens/{sc}/seats/generate/",
                    {"rows": 4, "seats_per_row": 6},
                    format="json",
                ),
                delay=LATE,
            )
            (held, rebuilt_answer) = race(hold, rebuild)
            if held.error or rebuilt_answer.error:
                problems.append(f"trial {trial}: {(held.error or rebuilt_answer.error)[-400:]}")
                continue
            pair = (held.result.status_code, rebuilt_answer.result.status_code)
            if pair not in {(201, 409), (409, 201)}:
                problems.append(f"trial {trial}: hold {pair[0]}, rebuild {pair[1]}")
            # Whatever won, the grid is whole: the old one (12 seats) or the new one (24).
            seats = Seat.objects.filter(screen_id=show.screen_id).count()
            if seats != (12 if pair[0] == 201 else 24):
                problems.append(f"trial {trial}: hold {pair[0]} and a grid of {seats} seats")
    finally:
        seat_grid_changed.disconnect(dispatch_uid="test-note-rebuilt")
    return problems


def test_rebuilding_the_grid_while_the_first_hold_is_written(make_showtime, theater, monkeypatch):
    assert rebuild_while_holding(make_showtime, theater, monkeypatch, TRIALS) == []


@pytest.mark.negative_control
def test_negative_control_rebuild_without_locking_the_shows(make_showtime, theater, monkeypatch):
    from boxoffice.booking import locks

    monkeypatch.setattr(locks, "lock_shows_of_screen", lambda **kwargs: None)
    problems = rebuild_while_holding(make_showtime, theater, monkeypatch, TRIALS)
    print("NEGATIVE CONTROL rebuild without the show locks:", problems[:2])
    assert problems


# --- 3. the show or its grid changed between a hold's first reads and its transaction -----------


def hold_after_a_change(make_showtime, theater, monkeypatch, change: str) -> list[str]:  # type: ignore[no-untyped-def]
    """A customer asks for a seat of a show no one has booked yet; the hold reads the show and
    checks the seat, then (a test-only wait) lets an admin finish a change before it opens its
    transaction: ``grid`` rebuilds the screen's seats, ``show`` moves the show into the evening
    and changes its currency. The hold must then be refused (409), never priced or placed
    against its stale copy, and never a 500. Returns what went wrong."""
    from boxoffice.booking.models import Booking
    from boxoffice.booking.services import holds

    changed = threading.Event()
    hold_seats = holds._hold_seats

    def after_the_change(**kwargs):  # type: ignore[no-untyped-def]
        changed.wait(timeout=5)
        return hold_seats(**kwargs)

    monkeypatch.setattr(holds, "_hold_seats", after_the_change)
    admin = bearer(make_user("planner", role="admin", is_staff=True))
    buyer = bearer(make_user("first"))
    problems = []
    for trial in range(TRIALS):
        changed.clear()
        screen = Screen.objects.create(theater=theater, name=f"Screen {trial + 2}")
        generate_seat_grid(screen=screen, rows=2, seats_per_row=6)
        morning = timezone.now().astimezone(theater.tzinfo).replace(
            hour=10, minute=0, second=0, microsecond=0
        ) + timezone.timedelta(days=2 + trial)
        show = make_showtime(screen=screen, starts_at=morning)
        seat = seat_ids(show.screen_id)[0]
        if change == "grid":
            url, body = (
                f"/api/v1/screens/{screen.pk}/seats/generate/",
                {"rows": 4, "seats_per_row": 6},
            )
            request = admin.post
        else:
            url = f"/api/v1/showtimes/{show.pk}/"
            body = {
                "currency": "eur",
                "starts_at": (morning + timezone.timedelta(hours=9)).isoformat(),
            }
            request = admin.patch

        def admin_change(url=url, body=body, request=request):  # type: ignore[no-untyped-def]
            try:
                return request(url, body, format="json")
            finally:
                changed.set()

        hold = Actor(
            "hold",
            lambda s=seat, pk=show.pk: buyer.post(
                "/api/v1/bookings/", {"showtime": pk, "seats": [s]}, format="json"
            ),
        )
        (held, changed_answer) = race(hold, Actor("change", admin_change, delay=LATE))
        if held.error or changed_answer.error:
            problems.append(f"trial {trial}: {(held.error or changed_answer.error)[-400:]}")
            continue
        if changed_answer.result.status_code not in (200, 201):
            problems.append(
                f"trial {trial}: the change answered {changed_answer.result.status_code}"
            )
        if held.result.status_code != 409:
            booking = Booking.objects.filter(showtime=show).first()
            show.refresh_from_db()
            problems.append(
                f"trial {trial}: hold {held.result.status_code}"
                + (
                    f", booking in {booking.currency} for a show in {show.currency}"
                    if booking is not None
                    else ""
                )
            )
    return problems


@pytest.mark.parametrize("change", ["grid", "show"])
def test_a_hold_is_judged_against_the_show_as_it_is_under_its_lock(
    make_showtime, theater, monkeypatch, change
):
    assert hold_after_a_change(make_showtime, theater, monkeypatch, change) == []


@pytest.mark.negative_control
@pytest.mark.parametrize("change", ["grid", "show"])
def test_negative_control_a_hold_priced_from_its_stale_copy(
    make_showtime, theater, monkeypatch, change
):
    from boxoffice.booking.services import holds

    monkeypatch.setattr(holds, "_refuse_changed", lambda *args: None)
    problems = hold_after_a_change(make_showtime, theater, monkeypatch, change)
    print(f"NEGATIVE CONTROL stale copy ({change}):", problems[:2])
    assert problems

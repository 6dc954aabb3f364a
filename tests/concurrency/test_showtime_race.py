"""Admins racing overlapping shows onto one screen: exactly one wins, whatever the timing.

Real threads, each with its own database connection and its own API client, released together
by a barrier, so the overlap check and the insert really interleave. On PostgreSQL the exclusion
constraint decides (its negative control drops it: several overlapping shows get in); on SQLite
the write lock taken when the transaction begins serialises the check and the insert.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection

from boxoffice.schedule import services
from boxoffice.schedule.models import NO_OVERLAP_CONSTRAINT, Showtime, ShowtimeStatus
from tests.concurrency.guards import without_constraint
from tests.conftest import bearer, future
from tests.support.net import free_port
from tests.support.processes import manage_ok

THREADS = 12
ROOT = Path(__file__).resolve().parent.parent.parent


def refusal(status: int, body: dict) -> str:
    """Why a losing admin was refused: "check" (400 on ``starts_at``: the overlap check already
    saw the winner's committed show) or "constraint" (409 ``showtime_overlap``: the check ran
    before the winner committed and the exclusion constraint refused the insert). Anything else
    (another status, another reason) fails the test."""
    error = body["errors"][0]
    if status == 400 and error["attr"] == "starts_at":
        return "check"
    assert (status, error["code"]) == (409, "showtime_overlap"), (status, body)
    return "constraint"


def outcome(status: int, body: dict) -> str:
    """One admin's outcome: "created" (201), or why a loser was refused."""
    return "created" if status == 201 else refusal(status, body)


def race(admin_user, movie, screen, *, shift_minutes: int) -> list[str]:  # type: ignore[no-untyped-def]
    """Start THREADS admins POSTing overlapping shows at once; return their outcomes."""
    base = future(days=3, hour=18)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            client = bearer(admin_user)
            payload = {
                "movie": movie.id,
                "screen": screen.id,
                "starts_at": (base + timedelta(minutes=index * shift_minutes)).isoformat(),
                "base_price": "10.00",
            }
            barrier.wait(timeout=30)
            response = client.post("/api/v1/showtimes/", payload, format="json")
            with lock:
                outcomes.append(outcome(response.status_code, response.json()))
        except BaseException as exc:  # a 500 re-raised by the test client, or a bad refusal
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client hung"
    assert errors == [], errors
    return outcomes


def assert_exactly_one_winner(outcomes: list[str], screen) -> None:  # type: ignore[no-untyped-def]
    """One show created and every other admin refused for the overlap. Whether a loser was
    refused by the check (400) or by the constraint (409) depends on when its check ran against
    the winner's commit: both are right, and this race does not pin the mix."""
    assert len(outcomes) == THREADS
    assert outcomes.count("created") == 1, outcomes
    assert set(outcomes) <= {"created", "check", "constraint"}, outcomes
    assert Showtime.objects.filter(screen=screen, status=ShowtimeStatus.SCHEDULED).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("shift_minutes", [0, 7], ids=["same-start", "shifted-starts"])
def test_racing_admins_cannot_double_book_a_screen_on_postgres(
    admin_user, movie, screen, shift_minutes
):
    outcomes = race(admin_user, movie, screen, shift_minutes=shift_minutes)
    assert_exactly_one_winner(outcomes, screen)


def widen_the_window(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Each admin waits, between the overlap check and the insert (a test-only wrapper), until
    every admin has checked: every check runs before any insert, so the race is certain, not a
    matter of timing (a pause of 0.3 s was not enough on a loaded machine: some admins checked
    after the winner had committed)."""
    check = services._refuse_overlap
    all_checked = threading.Barrier(THREADS)

    def check_then_wait(showtime: Showtime) -> None:
        check(showtime)
        all_checked.wait(timeout=60)

    monkeypatch.setattr(services, "_refuse_overlap", check_then_wait)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_with_every_check_before_any_insert_the_constraint_lets_one_in(
    admin_user, movie, screen, monkeypatch
):
    widen_the_window(monkeypatch)
    outcomes = race(admin_user, movie, screen, shift_minutes=0)
    assert_exactly_one_winner(outcomes, screen)
    # every check ran before any insert, so the constraint refused all the others (409)
    assert outcomes.count("constraint") == THREADS - 1, outcomes


@pytest.mark.postgres
@pytest.mark.negative_control
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_exclusion_constraint_a_screen_is_double_booked(
    admin_user, movie, screen, monkeypatch
):
    """The same race with the exclusion constraint dropped: the overlap check alone lets
    overlapping shows in."""
    widen_the_window(monkeypatch)
    with without_constraint("schedule_showtime", NO_OVERLAP_CONSTRAINT):
        outcomes = race(admin_user, movie, screen, shift_minutes=0)
        scheduled = Showtime.objects.filter(screen=screen, status=ShowtimeStatus.SCHEDULED).count()
        print(f"racing admins, no exclusion constraint: {sorted(outcomes)}, {scheduled} shows")
        assert outcomes.count("created") > 1
        assert scheduled > 1


# --- SQLite, the embedded default --------------------------------------------------------------
# pytest-django's SQLite test database lives in shared-cache memory, where concurrent writers fail
# at once with "database table is locked" instead of waiting: nothing like the file database that
# `make run` serves. So this race runs against a real server: gunicorn with several worker
# processes over a fresh SQLite file, and real HTTP clients.


SETUP = """
from rest_framework_simplejwt.tokens import RefreshToken
from boxoffice.accounts.models import Role, User
from boxoffice.catalog.models import Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
admin = User.objects.create_user("racer", "racer@example.com", "x", role=Role.ADMIN)
theater = Theater.objects.create(name="Odeon", timezone="Europe/Berlin")
screen = Screen.objects.create(theater=theater, name="Screen 1")
generate_seat_grid(screen=screen, rows=2, seats_per_row=2)
movie = Movie.objects.create(title="Metropolis", duration_minutes=120)
print(movie.id, screen.id, RefreshToken.for_user(admin).access_token)
"""


@pytest.fixture
def sqlite_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CACHE_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'race.sqlite3'}",
        DJANGO_DEBUG="1",
        MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONWARNINGS="ignore",
    )

    def manage(*args: str) -> str:
        return manage_ok(*args, env=env, timeout=180)

    manage("migrate", "--noinput")
    manage("createcachetable")
    movie_id, screen_id, token = manage("shell", "-c", SETUP).split()[-3:]
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi:application",
            "--workers", "4",
            "--bind", f"127.0.0.1:{port}",
            "--log-level", "warning",
        ],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # four workers booting on a busy 2-core machine
        while True:
            try:
                requests.get(f"{base}/api/v1/genres/", timeout=5).close()
                break
            except (requests.ConnectionError, requests.Timeout):
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield {"base": base, "movie": int(movie_id), "screen": int(screen_id), "token": token}
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("shift_minutes", [0, 7], ids=["same-start", "shifted-starts"])
def test_racing_admins_cannot_double_book_a_screen_on_sqlite(sqlite_server, shift_minutes):
    srv = sqlite_server
    base = future(days=3, hour=18)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {srv['token']}"
            payload = {
                "movie": srv["movie"],
                "screen": srv["screen"],
                "starts_at": (base + timedelta(minutes=index * shift_minutes)).isoformat(),
                "base_price": "10.00",
            }
            barrier.wait(timeout=30)
            response = session.post(f"{srv['base']}/api/v1/showtimes/", json=payload, timeout=60)
            with lock:
                outcomes.append(outcome(response.status_code, response.json()))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == THREADS, outcomes
    assert outcomes.count("created") == 1, outcomes
    # SQLite has no exclusion constraint: the write lock taken at BEGIN serialises each check
    # with its insert, so every loser's check saw the winner (400), none got past it.
    assert outcomes.count("check") == THREADS - 1, outcomes
    listed = requests.get(
        f"{srv['base']}/api/v1/showtimes/?screen={srv['screen']}", timeout=10
    ).json()
    assert listed["count"] == 1

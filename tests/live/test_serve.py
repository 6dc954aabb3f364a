"""The production server form, black box: ``scripts/serve`` (gunicorn managing uvicorn workers,
the streams answered by boxoffice.live.asgi) run as a subprocess on the test database, on
PostgreSQL and on SQLite.

Each test makes its data in-process first, then starts the server: on PostgreSQL the server
uses the test database itself (``transactional_db`` commits, so other processes see the data);
SQLite's test database lives in this process's memory, so it is copied to a file first
(``sqlite3`` backup: the migrated schema and the test's data). From then on every change goes
through the server over HTTP, as a client's would.

LIVE_CATCHUP_SECONDS is 60 in the server: a change that reaches a stream of another worker
within seconds came through the transport (PostgreSQL NOTIFY, Redis PUBLISH, or the poll
transport on SQLite), not through the safety-net re-read. Which worker serves a connection is
read from /proc (tests/live/server.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from django.core.cache import cache
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import make_user
from tests.live import admission
from tests.live.server import Server, server_env
from tests.live.sse import Events
from tests.support.net import free_port, wait_for
from tests.support.workers import redis_url

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = redis_url()  # a database of this xdist worker's own


def _database_url(folder: Path) -> str:
    """Where the server finds the test's data (see the module docstring)."""
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        auth = quote(db["USER"] or "")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"])
        host = db.get("HOST") or "127.0.0.1"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}@{host}{port}/{db['NAME']}"
    assert connection.vendor == "sqlite"
    path = folder / f"db-{time.monotonic_ns()}.sqlite3"
    connection.ensure_connection()
    target = sqlite3.connect(path)
    try:
        connection.connection.backup(target)
    finally:
        target.close()
    return f"sqlite:///{path}"


class Deployment:
    """A started server, the streams opened on it, and requests to it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.url = server.url
        self.streams: list[Events] = []

    def stream(self, showtime_id: int, **headers: str) -> Events:
        events = Events(f"{self.url}/api/v1/showtimes/{showtime_id}/seats/events/", headers)
        self.streams.append(events)
        return events

    def streams_on_every_worker(
        self, showtime_id: int, per_worker: int, limit: int = 64
    ) -> dict[Events, int]:
        """Open streams until every worker serves at least ``per_worker`` of them (the kernel
        hands connections to whichever worker accepts first): {stream: worker pid}."""
        workers = self.server.worker_pids()
        served: dict[Events, int] = {}
        for _ in range(limit):
            counts = [list(served.values()).count(pid) for pid in workers]
            if min(counts) >= per_worker:
                break
            events = self.stream(showtime_id)
            events.wait_for(1, timeout=30)  # a busy machine: the first snapshot builds the map
            served[events] = self.server.serving_pid(events.local_port)
        assert set(served.values()) == workers, (workers, list(served.values()))
        return served

    def hold(self, token: str, showtime_id: int, seat_ids: list[int]) -> tuple[int, Any, int]:
        """POST /bookings/ on a connection of its own: (status, body, the worker that
        answered)."""
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=30)
        try:
            conn.request(
                "POST",
                "/api/v1/bookings/",
                body=json.dumps({"showtime": showtime_id, "seats": seat_ids}),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            body = json.loads(response.read())
            pid = self.server.serving_pid(conn.sock.getsockname()[1])  # kept alive meanwhile
            return response.status, body, pid
        finally:
            conn.close()

    def close(self) -> None:
        for events in self.streams:
            events.close()
        self.server.stop()


@pytest.fixture
def serve(transactional_db, tmp_path) -> Iterator[Callable[..., Deployment]]:  # type: ignore[no-untyped-def]
    """Start ``scripts/serve`` on the test's data: HOST 127.0.0.1, a free PORT,
    WEB_CONCURRENCY 2, quick heartbeats; keyword arguments override the environment."""
    started: list[Deployment] = []
    # The servers share the test database's cache (on SQLite, a copy of it): no stream leases
    # or throttle counts of an earlier test's servers.
    cache.clear()

    def _serve(**overrides: str) -> Deployment:
        settings = {
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "LIVE_HEARTBEAT_SECONDS": "0.5",
            "LIVE_CATCHUP_SECONDS": "60",
            # No per-address cap unless a test is about it: every stream here comes from
            # 127.0.0.1, and spreading streams over the workers may take more than 20.
            "LIVE_MAX_STREAMS_PER_CLIENT": "0",
            **overrides,
        }
        env = server_env(_database_url(tmp_path), **settings)
        deployment = Deployment(Server(env, tmp_path / f"serve-{len(started)}.log"))
        started.append(deployment)
        deployment.server.wait_ready(int(env["WEB_CONCURRENCY"]))
        return deployment

    yield _serve
    for deployment in started:
        deployment.close()


def token(user) -> str:  # type: ignore[no-untyped-def]
    return str(RefreshToken.for_user(user).access_token)


def seat_ids(showtime) -> list[int]:  # type: ignore[no-untyped-def]
    return list(showtime.screen.seats.order_by("row_index", "number").values_list("pk", flat=True))


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({exc}); `make test` starts it")


def test_the_server_form_honours_its_settings_and_serves_streams_as_coroutines(
    serve, showtime, customer
):
    """HOST, PORT and WEB_CONCURRENCY are honoured; a sync endpoint answers; the stream is a
    snapshot whose id is the map's version, then heartbeats, served by boxoffice.live.asgi
    (the WSGI form would have ended it after LIVE_WSGI_STREAM_SECONDS, and would have passed
    through Django's middleware); an unknown show is a 404; a hold over HTTP is a delta; a
    reconnect with Last-Event-ID gets the changes it missed, an unknown id a new snapshot."""
    deployment = serve(LIVE_HEARTBEAT_SECONDS="0.2", LIVE_WSGI_STREAM_SECONDS="1")
    server = deployment.server
    assert f"Listening at: http://127.0.0.1:{server.port}" in server.log_text()
    assert server.listening_addresses() == {("127.0.0.1", server.port)}  # not 0.0.0.0
    assert len(server.worker_pids()) == 2  # not the default 2 x cores + 1

    listed = requests.get(f"{deployment.url}/api/v1/showtimes/", timeout=10)
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["results"]] == [showtime.pk]
    seat_map = requests.get(f"{deployment.url}/api/v1/showtimes/{showtime.pk}/seats/", timeout=10)
    assert seat_map.status_code == 200
    assert seat_map.headers["X-Frame-Options"]  # Django's middleware ran for it

    opened = time.monotonic()
    stream = deployment.stream(showtime.pk)
    snapshot = stream.wait_for(1)[0]
    assert snapshot["event"] == "snapshot"
    assert snapshot["data"]["showtime"] == showtime.pk
    assert snapshot["id"] == str(snapshot["data"]["version"]) == str(seat_map.json()["version"])
    assert len(snapshot["data"]["seats"]) == 20
    assert {s["status"] for s in snapshot["data"]["seats"]} == {"available"}
    assert stream.response.status == 200
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")
    assert stream.response.getheader("Cache-Control") == "no-cache"
    assert stream.response.getheader("X-Frame-Options") is None  # not through Django
    stream.wait_until(
        lambda: stream.comments >= 8 and time.monotonic() - opened > 2.5,
        timeout=15,
        what="heartbeats for 2.5 s",
    )
    assert not stream.ended

    missing = requests.get(f"{deployment.url}/api/v1/showtimes/999999999/seats/events/", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"

    # a delta per change; then a client that reconnects with Last-Event-ID gets what it missed
    seats = seat_ids(showtime)
    alice = token(customer)
    assert deployment.hold(alice, showtime.pk, seats[:1])[0] == 201
    held = stream.wait_for(2)[1]
    assert held["event"] == "seats"
    assert held["data"] == [{"id": seats[0], "status": "held"}]
    assert int(held["id"]) > int(snapshot["id"])
    stream.close()
    for seat in seats[10:12]:
        assert deployment.hold(alice, showtime.pk, [seat])[0] == 201
    now = requests.get(f"{deployment.url}/api/v1/showtimes/{showtime.pk}/seats/", timeout=10)
    newest = now.json()["version"]
    resumed = deployment.stream(showtime.pk, **{"Last-Event-ID": held["id"]})
    missed = resumed.wait_for(1)[0]
    assert missed["event"] == "seats"
    assert missed["data"] == [{"id": s, "status": "held"} for s in seats[10:12]]
    assert missed["id"] == str(newest)
    unknown = deployment.stream(showtime.pk, **{"Last-Event-ID": "999999999"})
    fresh = unknown.wait_for(1)[0]
    assert fresh["event"] == "snapshot"
    assert fresh["id"] == str(newest)


@pytest.mark.parametrize("transport", ["auto", "redis"])
def test_a_hold_made_through_either_worker_reaches_every_stream(serve, showtime, transport):
    """Streams on both workers, holds made over HTTP through both workers: every stream hears
    every hold. ``auto`` is PostgreSQL LISTEN/NOTIFY (every worker listens) or, on SQLite, the
    poll transport; ``redis`` is Redis pub/sub."""
    overrides = {}
    if transport == "redis":
        _redis_or_skip()
        overrides = {"LIVE_TRANSPORT": "redis", "CACHE_URL": REDIS_URL}
    buyers = [token(make_user(f"buyer{i}")) for i in range(5)]
    seats = seat_ids(showtime)
    deployment = serve(**overrides)
    streams = deployment.streams_on_every_worker(showtime.pk, per_worker=2)
    workers = deployment.server.worker_pids()
    if transport == "auto" and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query = 'LISTEN boxoffice_seats'"
            )
            assert cursor.fetchone()[0] == len(workers)

    held: dict[int, float] = {}  # seat -> when its hold was answered
    through: set[int] = set()
    # Each hold is a new connection, which the kernel gives to whichever worker accepts first:
    # up to every seat of the screen (20), until both workers have answered one.
    for n, seat in enumerate(seats):
        status, body, pid = deployment.hold(buyers[n % len(buyers)], showtime.pk, [seat])
        assert status == 201, body
        held[seat] = time.time()
        through.add(pid)
        if through == workers and len(held) >= 4:
            break
    assert through == workers, "holds were not made through every worker"

    for events, pid in streams.items():
        events.wait_until(
            lambda events=events: all(events.statuses().get(s) == "held" for s in held),
            timeout=10,
            what=f"every hold on the stream served by worker {pid}",
        )
        for seat, at in held.items():
            told = events.first_told(seat, "held")
            assert told is not None, seat
            assert told - at < 5, (seat, told, at)
        ids = [int(e["id"]) for e in events.events]
        assert ids == sorted(ids)


def test_a_lapsing_hold_is_announced_on_every_worker_without_any_request(serve, showtime, customer):
    """BOOKING_HOLD_SECONDS=2: the seat turns available on every stream, on both workers,
    within 2 s of the hold's ``expires_at``, while no request is made."""
    seat = seat_ids(showtime)[7]
    alice = token(customer)
    deployment = serve(BOOKING_HOLD_SECONDS="2")
    streams = deployment.streams_on_every_worker(showtime.pk, per_worker=1)
    status, body, _ = deployment.hold(alice, showtime.pk, [seat])
    assert status == 201, body
    expires_at = datetime.fromisoformat(body["expires_at"]).timestamp()
    for events in streams:
        events.wait_until(
            lambda events=events: events.first_told(seat, "available") is not None,
            timeout=10,
            what="the lapse",
        )
        freed = events.first_told(seat, "available")
        assert freed is not None
        assert expires_at - 0.05 <= freed < expires_at + 2, (freed - expires_at, events.events)
        assert events.first_told(seat, "held") is not None


@pytest.fixture
def opened() -> Iterator[list[Events]]:
    streams: list[Events] = []
    yield streams
    for events in streams:
        events.close()


def test_one_address_holds_at_most_its_cap_of_streams_across_workers(serve, showtime, opened):
    """The cap counts an address's streams on every worker: the refused connects were
    answered by both workers, whichever of them serves the address's open streams."""
    deployment = serve(LIVE_MAX_STREAMS_PER_CLIENT="3")
    url = admission.events_url(deployment.url, showtime.pk)
    refused = admission.check_the_cap(url, 3, opened)
    server = deployment.server
    refusers = {server.serving_pid(events.local_port) for events in refused}
    for _ in range(30):
        if refusers == server.worker_pids():
            break
        events = Events(url, source="127.0.0.1")
        opened.append(events)
        admission.assert_refused(events, "too_many_streams")
        refusers.add(server.serving_pid(events.local_port))
    assert refusers == server.worker_pids()


def test_every_connect_counts_against_the_address_rate(serve, showtime, opened):
    deployment = serve(THROTTLE_ANON="4/hour")
    admission.check_the_throttle(admission.events_url(deployment.url, showtime.pk), 4, opened)


def test_a_last_event_id_that_is_no_plain_number_gets_a_snapshot(serve, showtime, opened):
    deployment = serve()
    admission.check_odd_last_event_ids(admission.events_url(deployment.url, showtime.pk), opened)


def test_open_streams_keep_their_leases_and_a_dead_worker_frees_them(serve, showtime, opened):
    """LIVE_STREAM_LEASE_SECONDS=2: streams open for twice that still count (their leases are
    renewed); once the workers serving them are killed (SIGKILL: nothing is released), the
    address is served again within the lease, not locked out."""
    deployment = serve(LIVE_MAX_STREAMS_PER_CLIENT="2", LIVE_STREAM_LEASE_SECONDS="2")
    server = deployment.server
    url = admission.events_url(deployment.url, showtime.pk)
    held = admission.open_streams(url, 2, "127.0.0.5", opened)
    time.sleep(4)
    refused = Events(url, source="127.0.0.5")
    opened.append(refused)
    admission.assert_refused(refused, "too_many_streams")
    assert all(not events.ended for events in held)

    for pid in {server.serving_pid(events.local_port) for events in held}:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: all(events.ended for events in held), timeout=10, what="the streams to end")
    killed = time.monotonic()
    admission.open_streams(url, 1, "127.0.0.6", opened)  # a live worker serves anyone

    def admitted() -> bool:
        events = Events(url, source="127.0.0.5")
        opened.append(events)
        if events.response.status == 200:
            return True
        admission.assert_refused(events, "too_many_streams")
        time.sleep(0.2)
        return False

    wait_for(admitted, timeout=20, what="the dead worker's leases to lapse")
    # within the lease (2 s), give or take a worker's restart: not the default 120 s, let
    # alone forever
    assert time.monotonic() - killed < 2 + 10

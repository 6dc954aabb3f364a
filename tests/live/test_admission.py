"""What a connect to the live seat map costs, counted in queries: both forms driven in this
process (the WSGI view through APIClient, the ASGI application as uvicorn drives it, see
inprocess.py), every thread's queries seen.

- A connect refused for the address's open streams or its rate does no database work: no
  query at all with Redis or the local-memory cache; with the database cache (the default),
  only the cache table's.
- The snapshot is the seat-map cache's body: a second connect to an unchanged show reads no
  seat and no show; after a change the next connect reads the map again and shows it.

The same refusals against the real servers: test_seat_events.py (WSGI), test_serve.py (ASGI).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from boxoffice.booking import services
from boxoffice.booking.api import seatmap
from tests.live.inprocess import AsgiRun, QueryLog

pytestmark = pytest.mark.django_db(transaction=True)

REDIS_URL = "redis://127.0.0.1:6379/15"
CACHES = {
    "locmem": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
    "redis": {"default": {"BACKEND": "boxoffice.core.cache.RedisCache", "LOCATION": REDIS_URL}},
}
TRANSACTION = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}  # the cache's own
SEAT_MAP_TABLES = ('"catalog_seat"', '"schedule_showtime"')


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"Redis is not running on 127.0.0.1:6379 ({exc}); `make test` starts it")


@pytest.fixture(params=["locmem", "redis", "db"])
def cache_kind(request, settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    if request.param == "redis":
        _redis_or_skip()
    if request.param in CACHES:
        settings.CACHES = CACHES[request.param]
    cache.clear()
    seatmap._BATCHES.window = None  # this process's batched throttle counts
    yield request.param
    cache.clear()


class Connect:
    """Connects to a show's stream in one form: ``(client address, **headers) -> (status,
    headers, first body)``, the stream left open until :meth:`close_all`."""

    def __init__(self, form: str, run: AsgiRun | None) -> None:
        self.form = form
        self.run = run
        self.responses: list[Any] = []

    def __call__(self, showtime_id: int, client: str = "127.0.0.1") -> tuple[int, dict, bytes]:
        if self.run is not None:
            stream = self.run.connect(showtime_id, client=client)
            return stream.status, stream.headers, stream.body
        response = APIClient().get(
            f"/api/v1/showtimes/{showtime_id}/seats/events/", REMOTE_ADDR=client
        )
        self.responses.append(response)
        if response.status_code != 200:
            return response.status_code, dict(response.headers), response.content
        return 200, dict(response.headers), next(iter(response.streaming_content))

    def close_all(self) -> None:
        for response in self.responses:
            response.close()


@pytest.fixture(params=["asgi", "wsgi"])
def connect(request, settings) -> Iterator[Callable[..., tuple[int, dict, bytes]]]:  # type: ignore[no-untyped-def]
    settings.LIVE_WSGI_STREAM_SECONDS = 0  # a WSGI stream is its first event, read here
    if request.param == "wsgi":
        opener = Connect("wsgi", None)
        yield opener
        opener.close_all()
        return
    with AsgiRun() as run:
        yield Connect("asgi", run)


def _refusal(status: int, headers: dict, body: bytes) -> str:
    assert status == 429, body
    assert int(headers["retry-after" if "retry-after" in headers else "Retry-After"]) > 0
    error = json.loads(body)
    assert error["type"] == "client_error"
    return error["errors"][0]["code"]


def _assert_no_database_work(kind: str, statements: list[str]) -> None:
    if kind == "db":  # the cache is a table: its reads and writes, nothing else
        assert any('"boxoffice_cache"' in sql for sql in statements)
        others = [
            sql
            for sql in statements
            if '"boxoffice_cache"' not in sql and sql.split()[0].upper() not in TRANSACTION
        ]
        assert others == [], others
    else:
        assert statements == []


def test_a_connect_refused_for_too_many_streams_does_no_database_work(
    connect, cache_kind, showtime, settings
):
    settings.LIVE_MAX_STREAMS_PER_CLIENT = 2
    with QueryLog() as log:
        assert connect(showtime.pk)[0] == 200
        assert connect(showtime.pk)[0] == 200
        assert log.since(0)  # a served connect reads the database
        mark = log.mark()
        assert _refusal(*connect(showtime.pk)) == "too_many_streams"
        _assert_no_database_work(cache_kind, log.since(mark))
    assert connect(showtime.pk, client="127.0.0.2")[0] == 200


def test_a_connect_refused_for_its_rate_does_no_database_work(
    connect, cache_kind, showtime, settings
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "2/hour",
        },
    }
    with QueryLog() as log:
        assert connect(showtime.pk)[0] == 200
        assert connect(showtime.pk)[0] == 200
        mark = log.mark()
        assert _refusal(*connect(showtime.pk)) == "throttled"
        _assert_no_database_work(cache_kind, log.since(mark))


def _reads_the_seat_map(statements: list[str]) -> bool:
    return any(table in sql for sql in statements for table in SEAT_MAP_TABLES)


def _snapshot(body: bytes) -> dict:
    frame = body.decode().split("\n\n")[1]  # after the retry hint
    lines = dict(line.split(": ", 1) for line in frame.split("\n"))
    assert lines["event"] == "snapshot"
    data = json.loads(lines["data"])
    assert lines["id"] == str(data["version"])
    return data


def test_the_snapshot_is_the_cached_seat_map(connect, cache_kind, showtime, customer, api):
    seat = showtime.screen.seats.order_by("row_index", "number").first()
    with QueryLog() as log:
        status, _, body = connect(showtime.pk)
        assert status == 200
        first = _snapshot(body)
        assert _reads_the_seat_map(log.since(0))  # built once (the check sees its queries)

        mark = log.mark()
        status, _, body = connect(showtime.pk)
        assert status == 200
        assert _snapshot(body) == first
        assert not _reads_the_seat_map(log.since(mark)), log.since(mark)

        # the seat map's own GET serves the same body from the same cache
        mark = log.mark()
        seats = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/")
        assert seats.json() == first
        assert not _reads_the_seat_map(log.since(mark))

        services.create_hold(user=customer, showtime=showtime, seat_ids=[seat.pk])
        mark = log.mark()
        status, _, body = connect(showtime.pk)
        changed = _snapshot(body)
        assert _reads_the_seat_map(log.since(mark))  # the change made the cached map stale
    assert changed["version"] > first["version"]
    assert {s["id"]: s["status"] for s in changed["seats"]}[seat.pk] == "held"


def test_the_schema_documents_both_refusals(api):
    schema = json.loads(api.get("/api/schema/?format=json").content)
    refused = schema["paths"]["/api/v1/showtimes/{showtime_id}/seats/events/"]["get"]["responses"][
        "429"
    ]
    assert "Retry-After" in refused["headers"]
    name = refused["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    item = schema["components"]["schemas"][name]["properties"]["errors"]["items"]
    assert set(item["properties"]["code"]["enum"]) == {"throttled", "too_many_streams"}

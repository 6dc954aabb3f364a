"""The live seat map under an ASGI server: ``GET /api/v1/showtimes/{id}/seats/events/``.

Each stream is a coroutine waiting on its queue in the process's :mod:`.hub`, so a thousand
open streams cost a thousand small queues, not a thousand threads. Everything else the server
answers goes to the Django (WSGI) application in a thread pool (see ``config.asgi``).

The protocol (docs/api.md, "Live seat map"):
- first a ``snapshot`` (the seat map object, ``id:`` its version), or, for a client that
  reconnects with ``Last-Event-ID``, one ``seats`` event with every seat changed since (a new
  ``snapshot`` when that position is too old);
- then a ``seats`` event ``[{id, status}]`` per change; ids never decrease;
- a comment line every LIVE_HEARTBEAT_SECONDS.

Before any of it, the connect is counted and the stream takes its address's slot
(:mod:`.limits`): a refusal (429) costs a cache round trip and no database work.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from rest_framework.exceptions import Throttled

from boxoffice.schedule.models import Showtime

from . import feed, limits
from .hub import HUB, Stream, db, subscribed
from .limits import Lease

PATH = re.compile(r"^/api/v1/showtimes/(?P<showtime_id>[0-9]{1,18})/seats/events/$")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # proxies must not buffer the stream
    (b"x-content-type-options", b"nosniff"),
]


def matches(scope: dict[str, Any]) -> int | None:
    """The show id when ``scope`` is a GET of a live seat map, else None."""
    if scope.get("type") != "http" or scope.get("method") not in ("GET", "HEAD"):
        return None
    found = PATH.match(scope.get("path", ""))
    return int(found["showtime_id"]) if found else None


async def _error(send: Send, status: int, code: str, detail: str, retry: int | None) -> None:
    body = json.dumps(
        {
            "type": "client_error" if status < 500 else "server_error",
            "errors": [{"code": code, "detail": detail, "attr": None}],
        }
    ).encode()
    headers = [(b"content-type", b"application/json")]
    if retry is not None:
        headers.append((b"retry-after", str(retry).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _last_event_id(scope: dict[str, Any]) -> int:
    for name, value in scope.get("headers", []):
        if name == b"last-event-id":
            return feed.resume_position(value.decode("latin-1"))
    return 0


async def stream_seat_map(
    scope: dict[str, Any], receive: Receive, send: Send, showtime_id: int
) -> None:
    if HUB.count >= settings.LIVE_MAX_STREAMS:
        await _error(send, 503, "too_many_streams", "Too many open streams; retry shortly.", 5)
        return
    try:  # before any database work: a refused connect costs the cache round trip only
        lease = await db(limits.admit, limits.client_request(scope))
    except Throttled as exc:
        wait = getattr(exc, "wait", None)  # set by Throttled.__init__ (not in the stubs)
        await _error(send, 429, str(exc.get_codes()), str(exc.detail), wait)
        return
    try:
        async with subscribed(showtime_id) as stream:
            try:
                last, first = await db(feed.first_event, showtime_id, _last_event_id(scope))
            except Showtime.DoesNotExist:
                await _error(send, 404, "not_found", "No such showtime.", None)
                return
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            if scope.get("method") == "HEAD":
                await send({"type": "http.response.body", "body": b""})
                return
            gone = asyncio.get_running_loop().create_task(_disconnected(receive))
            try:
                await _serve(stream, send, last, first, gone, lease)
            except OSError:
                pass  # the client went away mid-write
            finally:
                gone.cancel()
    finally:
        await db(lease.release)


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _serve(
    stream: Stream, send: Send, last: int, first: bytes, gone: asyncio.Task[None], lease: Lease
) -> None:
    async def emit(chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    await emit(feed.retry_hint() + first)
    clock = asyncio.get_running_loop().time
    heartbeat = settings.LIVE_HEARTBEAT_SECONDS
    # wake up at least this often to renew the stream's lease, however rare the heartbeats
    renew_every = settings.LIVE_STREAM_LEASE_SECONDS / 3
    quiet_since = clock()
    while not gone.done():
        if lease.due():
            await db(lease.renew)
        getter = asyncio.ensure_future(stream.queue.get())
        timeout = max(0.0, min(heartbeat - (clock() - quiet_since), renew_every))
        done, _ = await asyncio.wait({getter, gone}, timeout=timeout, return_when="FIRST_COMPLETED")
        if getter not in done:
            getter.cancel()
            if not gone.done() and clock() - quiet_since >= heartbeat:
                await emit(feed.HEARTBEAT)
                quiet_since = clock()
            continue
        quiet_since = clock()
        if stream.overflowed:  # too far behind: start again from a snapshot
            stream.overflowed = False
            while not stream.queue.empty():
                stream.queue.get_nowait()
            version, body = await db(feed.snapshot_body, stream.showtime_id)
            last = max(last, version)
            await emit(feed.frame("snapshot", body, last))
            continue
        update = getter.result()
        last = max(last, update.change_id)
        await emit(feed.frame(update.event, update.data, last))

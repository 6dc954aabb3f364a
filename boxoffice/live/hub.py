"""The per-process hub of the live seat map (ASGI servers): one listener for the whole process,
fanning each seat change out to the streams of its show.

    notification (LISTEN / Redis / catch-up read) -> Hub._dispatch -> each stream's queue

Per process and per change, the seats' statuses are read once, whatever the number of streams.
The hub also keeps each watched show's next hold lapse and, when it is due, ends those holds
(``feed.tidy_lapsed``): the freed seats become an ordinary change, announced to every process,
within about LIVE_LAPSE_CHECK_SECONDS of the hold's end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from . import feed, transport

log = logging.getLogger(__name__)


async def db[T](fn: Callable[..., T], *args: Any) -> T:
    """Run a database read or write in a worker thread (its own connection)."""

    def run() -> T:
        close_old_connections()
        return fn(*args)

    return await sync_to_async(run, thread_sensitive=False)()


@dataclass(frozen=True)
class Update:
    """One change for a show's streams: ``data`` is the JSON-ready payload of a ``seats`` or a
    ``snapshot`` event."""

    change_id: int
    event: str
    data: Any


@dataclass(eq=False)
class Stream:
    showtime_id: int
    queue: asyncio.Queue[Update] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    overflowed: bool = False


class Hub:
    SEEN_MAX = 20_000

    def __init__(self) -> None:
        self.streams: dict[int, set[Stream]] = {}
        self.lapses: dict[int, datetime | None] = {}
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._last_id = 0
        self._task: asyncio.Task[None] | None = None
        # Set while this process receives notifications (LISTEN or SUBSCRIBE is in place, or the
        # transport is the catch-up read alone). A stream reads its first snapshot only once it
        # is set, so no change can fall between that snapshot and the first notification.
        self._listening = asyncio.Event()
        self._reconnecting = False

    @property
    def count(self) -> int:
        return sum(len(streams) for streams in self.streams.values())

    async def subscribe(self, showtime_id: int) -> Stream:
        self._start()
        if not self._listening.is_set():
            try:
                await asyncio.wait_for(self._listening.wait(), settings.LIVE_LISTEN_WAIT_SECONDS)
            except TimeoutError:  # the catch-up read tells what the notifications miss
                log.warning("seat-change listener not ready; streaming on the catch-up read")
        stream = Stream(showtime_id)
        first = showtime_id not in self.streams
        self.streams.setdefault(showtime_id, set()).add(stream)
        if first:
            self.lapses[showtime_id] = await db(feed.next_lapse, showtime_id)
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        streams = self.streams.get(stream.showtime_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self.streams[stream.showtime_id]
                self.lapses.pop(stream.showtime_id, None)

    def _start(self) -> None:
        if self._task is None or self._task.done():
            self._listening = asyncio.Event()
            self._reconnecting = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="live-hub")

    async def _run(self) -> None:
        self._last_id = await db(_newest_change)
        kind = await db(transport.transport)
        tasks = [self._catch_up(kind), self._watch_lapses()]
        if kind == "postgres":
            tasks.append(self._listen_postgres())
        elif kind == "redis":
            tasks.append(self._listen_redis())
        else:
            self._listening.set()
        await asyncio.gather(*tasks)

    # --- receiving changes ------------------------------------------------------------------

    async def _dispatch(self, change_id: int, showtime_id: int, *, from_feed: bool = False) -> None:
        """Tell the show's streams about one change. A notification is only a claim: Redis
        pub/sub channels are shared by every database number of a Redis server, so another
        deployment's changes arrive here too, with ids of *its* feed. A change counts as seen
        only once it was read from this database's feed (``from_feed``: the catch-up read) or
        its feed row was found naming the notified show; otherwise a foreign id would hide this
        feed's own change of the same id when it comes."""
        if change_id in self._seen:
            return
        streams = self.streams.get(showtime_id)
        if not streams:
            if from_feed:
                self._remember(change_id)
            return
        try:
            update = await db(_update_for, change_id, showtime_id)
            if update is not None:
                self.lapses[showtime_id] = await db(feed.next_lapse, showtime_id)
        except Exception:
            log.exception("could not read seat change %s", change_id)
            return  # the catch-up read tries again
        if update is None:  # not (yet) a change of this feed: nothing to tell
            return
        if change_id in self._seen:  # told meanwhile (the notice and the catch-up read raced)
            return
        self._remember(change_id)
        for stream in list(streams):
            try:
                stream.queue.put_nowait(update)
            except asyncio.QueueFull:
                stream.overflowed = True  # a stream this far behind is sent a new snapshot

    def _remember(self, change_id: int) -> None:
        self._seen[change_id] = None
        while len(self._seen) > self.SEEN_MAX:
            self._seen.popitem(last=False)
        self._last_id = max(self._last_id, change_id)

    async def _listen_postgres(self) -> None:
        import psycopg

        while True:
            try:
                conninfo = await db(_postgres_conninfo)
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {transport.CHANNEL}")
                    await self._listening_again()
                    async for note in conn.notifies():
                        parsed = transport.parse(note.payload)
                        if parsed is not None:
                            await self._dispatch(*parsed)
            except Exception as exc:
                log.warning("seat-change LISTEN lost (%s); reconnecting", exc)
                self._listening.clear()
                await asyncio.sleep(1)

    async def _listen_redis(self) -> None:
        import redis.asyncio as aioredis

        while True:
            try:
                client = aioredis.from_url(settings.LIVE_REDIS_URL or settings.CACHE_URL)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(await db(transport.redis_channel))
                    await self._listening_again()
                    async for note in pubsub.listen():
                        if note.get("type") != "message":
                            continue
                        parsed = transport.parse(note["data"])
                        if parsed is not None:
                            await self._dispatch(*parsed)
            except Exception as exc:
                log.warning("seat-change SUBSCRIBE lost (%s); reconnecting", exc)
                self._listening.clear()
                await asyncio.sleep(1)

    async def _listening_again(self) -> None:
        """Notifications flow (again): after a lost connection, read what was missed meanwhile
        at once rather than at the next catch-up."""
        reconnected = self._reconnecting
        self._reconnecting = True
        self._listening.set()
        if reconnected and self.streams:
            await self._read_feed(timedelta(seconds=settings.LIVE_CATCHUP_SECONDS * 2))

    async def _read_feed(self, window: timedelta) -> None:
        try:
            rows = await db(feed.recent_changes, self._last_id, window + feed.REPLAY_SLACK)
        except Exception as exc:
            log.warning("seat-change catch-up failed: %s", exc)
            return
        for change_id, showtime_id in rows:
            await self._dispatch(change_id, showtime_id, from_feed=True)

    async def _catch_up(self, kind: str) -> None:
        """Read the recent feed now and then: the whole transport on SQLite, a safety net for
        lost notifications elsewhere."""
        every = settings.LIVE_POLL_SECONDS if kind == "poll" else settings.LIVE_CATCHUP_SECONDS
        while True:
            await asyncio.sleep(every)
            if self.streams:
                await self._read_feed(timedelta(seconds=every * 2))

    async def _watch_lapses(self) -> None:
        while True:
            await asyncio.sleep(settings.LIVE_LAPSE_CHECK_SECONDS)
            now = timezone.now()
            for showtime_id, lapse in list(self.lapses.items()):
                if lapse is None or lapse > now:
                    continue
                try:
                    await db(feed.tidy_lapsed, showtime_id)
                    self.lapses[showtime_id] = await db(feed.next_lapse, showtime_id)
                except Exception as exc:
                    log.warning("could not tidy lapsed holds of show %s: %s", showtime_id, exc)


def _newest_change() -> int:
    from boxoffice.booking.models import SeatChange

    return SeatChange.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _update_for(change_id: int, showtime_id: int) -> Update | None:
    """The update for one change of the feed, or None when the feed has no such change of this
    show (a notification from another deployment sharing the Redis server)."""
    row = feed.change(change_id)
    if row is None or row[0] != showtime_id:
        return None
    _, seat_ids = row
    if seat_ids is None:
        version, body = feed.snapshot_body(showtime_id)
        return Update(change_id=max(change_id, version), event="snapshot", data=body)
    return Update(
        change_id=change_id, event="seats", data=feed.statuses(showtime_id, list(seat_ids))
    )


def _postgres_conninfo() -> str:
    from django.db import connection
    from psycopg.conninfo import make_conninfo

    db_settings = connection.settings_dict
    params = {
        "dbname": db_settings["NAME"],
        "user": db_settings.get("USER") or None,
        "password": db_settings.get("PASSWORD") or None,
        "host": db_settings.get("HOST") or None,
        "port": str(db_settings["PORT"]) if db_settings.get("PORT") else None,
    }
    return make_conninfo(**{k: v for k, v in params.items() if v})


HUB = Hub()


@contextlib.asynccontextmanager
async def subscribed(showtime_id: int) -> AsyncIterator[Stream]:
    stream = await HUB.subscribe(showtime_id)
    try:
        yield stream
    finally:
        HUB.unsubscribe(stream)

"""The live seat map's ASGI form driven in this process, as uvicorn drives it, so that the
queries it makes can be counted (the stream's reads run in worker threads, each on its own
connection: :class:`QueryLog` sees every thread's).

    with QueryLog() as log, AsgiRun() as run:
        stream = run.connect(showtime.pk)      # status and first body, the stream left open
        mark = log.mark()
        refused = run.connect(showtime.pk)
        assert log.since(mark) == []
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created

THREADS = 4


class QueryLog:
    """Every SQL statement run by any thread of this process while it is open: the current
    thread's connections and every connection opened meanwhile (the stream's worker threads
    are new, so are their connections)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._lock = threading.Lock()
        self._attached: list[Any] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        with self._lock:
            self.statements.append(sql)
        return execute(sql, params, many, context)

    def _attach(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)
            self._attached.append(connection)

    def __enter__(self) -> QueryLog:
        connection_created.connect(self._attach, weak=False)
        for connection in connections.all():
            self._attach(None, connection)
        return self

    def __exit__(self, *exc: object) -> None:
        connection_created.disconnect(self._attach)
        for connection in self._attached:
            if self in connection.execute_wrappers:
                connection.execute_wrappers.remove(self)

    def mark(self) -> int:
        with self._lock:
            return len(self.statements)

    def since(self, mark: int) -> list[str]:
        with self._lock:
            return self.statements[mark:]


class Stream:
    """One request to ``config.asgi.application``: what it sent, and a hang-up to end it."""

    def __init__(self, run: AsgiRun, scope: dict[str, Any]) -> None:
        self.messages: list[dict[str, Any]] = []
        self._hangup = asyncio.Event()
        self._received = asyncio.Event()
        self.task = run.loop.create_task(run.app(scope, self._receive, self._send))

    async def _receive(self) -> dict[str, Any]:
        await self._hangup.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body":
            self._received.set()

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    async def first_body(self) -> None:
        await asyncio.wait_for(self._received.wait(), timeout=20)

    async def hang_up(self) -> None:
        self._hangup.set()
        await asyncio.wait_for(self.task, timeout=20)


class AsgiRun:
    """An event loop with a thread pool of its own for the stream's database work; on exit
    every open stream is hung up and the pool's threads close their connections (a thread's
    connection would otherwise outlive the test and hold the test database open)."""

    def __enter__(self) -> AsgiRun:
        from config.asgi import application

        self.app = application
        self.loop = asyncio.new_event_loop()
        # SQLite's in-memory test database lives in this thread's connection: the pool's
        # threads share it, as the test server's threads do (its close() does nothing).
        main = connections["default"]
        self.shared = main if main.vendor == "sqlite" and main.is_in_memory_db() else None
        if self.shared is not None:
            self.shared.inc_thread_sharing()
        self.pool = ThreadPoolExecutor(max_workers=THREADS, initializer=self._share)
        self.loop.set_default_executor(self.pool)
        # The loop runs on a thread of its own: this thread may already have a running loop
        # (the session's Playwright browser keeps one), and asyncio runs one loop per thread.
        self.driver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="asgi-loop")
        self.streams: list[Stream] = []
        return self

    def run(self, coro: Any) -> Any:
        """Run the loop until ``coro`` is done, on the loop's own thread."""
        return self.driver.submit(self.loop.run_until_complete, coro).result()

    def _share(self) -> None:
        if self.shared is not None:
            connections["default"] = self.shared

    def connect(self, showtime_id: int, *, client: str = "127.0.0.1", **headers: bytes) -> Stream:
        """Open a stream and wait for its first body (a snapshot, or an error's JSON)."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": f"/api/v1/showtimes/{showtime_id}/seats/events/",
            "raw_path": f"/api/v1/showtimes/{showtime_id}/seats/events/".encode(),
            "query_string": b"",
            "headers": [(k.lower().replace("_", "-").encode(), v) for k, v in headers.items()],
            "client": (client, 40000 + len(self.streams)),
            "server": ("127.0.0.1", 8000),
        }
        stream = Stream(self, scope)
        self.streams.append(stream)
        self.run(stream.first_body())
        return stream

    def hang_up(self, stream: Stream) -> None:
        self.run(stream.hang_up())

    def __exit__(self, *exc: object) -> None:
        try:
            for stream in self.streams:
                if not stream.task.done():
                    self.run(stream.hang_up())
            for task in asyncio.all_tasks(self.loop):  # the hub's listener
                task.cancel()
            self.run(asyncio.sleep(0.05))
        finally:
            barrier = threading.Barrier(THREADS)

            def close() -> None:  # one call on each thread: all wait for each other
                barrier.wait(timeout=10)
                if self.shared is None:
                    connections.close_all()

            for future in [self.pool.submit(close) for _ in range(THREADS)]:
                future.result(timeout=20)
            self.pool.shutdown()
            self.driver.shutdown()
            self.loop.close()
            if self.shared is not None:
                self.shared.dec_thread_sharing()

"""A text/event-stream reader for the live seat map tests, as a browser's EventSource meets a
stream: frames are parsed as their bytes arrive (``read1``: no waiting for a buffer to fill),
in a thread of their own; ``events`` fills up as they come."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


class Events:
    """One open stream. ``events`` are the frames with an ``event:`` field (``id`` and ``event``
    as text, ``data`` decoded from JSON), each stamped with its arrival (``at``, time.time());
    ``comments`` counts comment lines (heartbeats)."""

    def __init__(
        self, url: str, headers: dict[str, Any] | None = None, source: str | None = None
    ) -> None:
        """``source``: the client's address (any 127.x.y.z reaches a server on 127.0.0.1)."""
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=30, source_address=(source, 0) if source else None
        )
        self.connection.request("GET", parts.path, headers=headers or {})
        # the response takes the socket over when the server will close the connection
        self._sock = self.connection.sock
        self.local_port: int = self._sock.getsockname()[1]
        self.response = self.connection.getresponse()
        self.events: list[dict[str, Any]] = []
        self.comments = 0
        self.ended = False
        self.body = b""  # an answer other than a stream (an error's JSON), read whole
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        buffer = b""
        try:
            if self.response.status != 200:
                self.body = self.response.read()
                return
            while chunk := self.response.read1(65536):
                buffer += chunk
                while b"\n\n" in buffer:
                    block, buffer = buffer.split(b"\n\n", 1)
                    self._parse(block.decode())
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            pass
        finally:
            self.ended = True

    def _parse(self, block: str) -> None:
        frame: dict[str, Any] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments += 1
            else:
                name, _, value = line.partition(": ")
                frame[name] = json.loads(value) if name == "data" else value
        if "event" in frame:
            frame["at"] = time.time()
            self.events.append(frame)

    def refusal(self, timeout: float = 10) -> tuple[int, dict[str, Any], str | None]:
        """(status, the error's JSON, Retry-After) of an answer that is not a stream."""
        self._thread.join(timeout)
        assert self.response.status != 200, self.events
        return self.response.status, json.loads(self.body), self.response.getheader("Retry-After")

    def wait_for(self, count: int, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.events) >= count, self.events
        return self.events

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.events}"
            time.sleep(0.05)

    def statuses(self) -> dict[int, str]:
        """Each seat's status as this stream has told it so far (its snapshots and deltas)."""
        seen: dict[int, str] = {}
        for event in self.events:
            if event["event"] == "snapshot":
                seen = {s["id"]: s["status"] for s in event["data"]["seats"]}
            else:
                seen.update({s["id"]: s["status"] for s in event["data"]})
        return seen

    def first_told(self, seat_id: int, status: str) -> float | None:
        """When this stream first said ``seat_id`` is ``status`` after its first event."""
        for event in self.events[1:]:
            if event["event"] == "seats" and {"id": seat_id, "status": status} in event["data"]:
                return event["at"]
            if (
                event["event"] == "snapshot"
                and {s["id"]: s["status"] for s in event["data"]["seats"]}.get(seat_id) == status
            ):
                return event["at"]
        return None

    def close(self) -> None:
        """Hang up now: ``shutdown`` also wakes the reading thread, so the server sees the
        disconnect at once."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.connection.close()

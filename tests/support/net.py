"""Ports and waits."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_url(path: str = "/lost/") -> str:
    """A URL where nothing answers: a delivery or request to it fails at once."""
    return f"http://127.0.0.1:{free_port()}{path}"


def wait_for(
    predicate: Callable[[], object],
    *,
    timeout: float = 15.0,
    what: str = "the condition",
    interval: float = 0.05,
    ignoring: tuple[type[BaseException], ...] = (),
) -> None:
    """Poll until ``predicate()`` is true (something another thread or process does); fail
    naming ``what`` after ``timeout`` seconds. Exceptions in ``ignoring`` count as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except ignoring:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)

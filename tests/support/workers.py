"""What each xdist worker must have of its own. pytest-django already gives every worker its
own test database (name suffixed ``_gw0``, ``_gw1``...); this covers the rest."""

from __future__ import annotations

import os

REDIS_HOST = "127.0.0.1:6379"
# Two checkouts testing on one machine set TEST_REDIS_TOP_DB apart (e.g. 15 and 7) so their
# workers never share a Redis database.
REDIS_TOP_DB = int(os.environ.get("TEST_REDIS_TOP_DB", "15"))


def worker_id() -> str:
    """``gw0``, ``gw1``... under xdist; ``main`` in a serial run."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_number() -> int:
    name = worker_id()
    return int(name[2:]) if name.startswith("gw") else 0


def redis_url() -> str:
    """A Redis database of this worker's own, counted down from 15 (db 15 in a serial run),
    so one worker's ``clear()`` never empties another's cache."""
    number = worker_number()
    if number > REDIS_TOP_DB:
        raise RuntimeError(f"xdist worker {number}: Redis has no database {REDIS_TOP_DB - number}")
    return f"redis://{REDIS_HOST}/{REDIS_TOP_DB - number}"

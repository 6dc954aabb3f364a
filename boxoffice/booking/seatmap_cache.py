"""A shared cache of each show's rendered seat map.

The seat map is the hottest read. Its rendered JSON is cached per show in the default cache
(shared by every server process) next to a *version token*:

- every write that changes a show's seats (hold, sale, cancel, expiry) replaces the show's token
  with a fresh random value once its transaction has committed; a price change replaces a
  global token that every entry also checks;
- an entry is served only while both tokens equal the ones it was built under, and only until
  the earliest hold it shows as ``held`` lapses, so expiries appear on time without any write.

A reader that computed the map from a snapshot older than a write stored it under the tokens it
read *before* computing, which that write replaced: the stale map is never served. A random
token (rather than a counter) cannot be lost to two writers incrementing at once. One cache
round trip on a hit (``get_many``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

MAX_AGE_SECONDS = 60
GLOBAL_KEY = "seatmap:g"


def _keys(showtime_id: int) -> tuple[str, str]:
    return f"seatmap:v:{showtime_id}", f"seatmap:d:{showtime_id}"


def _token() -> str:
    return uuid.uuid4().hex


def invalidate(showtime_id: int) -> None:
    cache.set(_keys(showtime_id)[0], _token(), timeout=None)


def invalidate_on_commit(showtime_id: int) -> None:
    """Replace the show's token once the current transaction commits.

    Writers call :func:`invalidate` *before* their transaction as well (so reads later in the
    same transaction, and in tests that never commit, see the change) and this inside it (so a
    reader that re-cached the old state meanwhile is made stale). Neither runs inside the
    transaction's locks: with the database cache, a token write inside the transaction would
    lock the token row until commit and make every buyer of the show queue on it."""
    transaction.on_commit(lambda: invalidate(showtime_id))


def invalidate_all() -> None:
    """Every show's map is stale (prices changed)."""
    cache.set(GLOBAL_KEY, _token(), timeout=None)
    transaction.on_commit(lambda: cache.set(GLOBAL_KEY, _token(), timeout=None))


def _current(key: str, found: dict) -> str:
    token = found.get(key)
    if token is None:
        token = _token()
        if not cache.add(key, token, timeout=None):
            token = cache.get(key) or token
    return token


def get_or_build(showtime_id: int, build: Callable[[], tuple[bytes, datetime | None]]) -> bytes:
    """The cached rendering, or ``build()``'s (bytes, valid_until) stored for the next reader."""
    version_key, data_key = _keys(showtime_id)
    found = cache.get_many([version_key, data_key, GLOBAL_KEY])
    now = timezone.now()
    entry = found.get(data_key)
    if (
        entry is not None
        and found.get(version_key) is not None
        and found.get(GLOBAL_KEY) is not None
    ):
        version, generation, body, valid_until = entry
        if (
            version == found[version_key]
            and generation == found[GLOBAL_KEY]
            and (valid_until is None or now < valid_until)
        ):
            return body
    version = _current(version_key, found)
    generation = _current(GLOBAL_KEY, found)
    body, valid_until = build()
    timeout = MAX_AGE_SECONDS
    if valid_until is not None:
        timeout = max(1, min(timeout, int((valid_until - now).total_seconds())))
    cache.set(data_key, (version, generation, body, valid_until), timeout=timeout)
    return body

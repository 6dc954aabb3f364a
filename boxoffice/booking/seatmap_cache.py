"""A shared cache of each show's rendered seat map.

The seat map is the hottest read. Its rendered JSON is cached per show in the default cache
(shared by every server process) next to a *version token*:

- every write that changes a show's seats (hold, sale, cancel, expiry, a price or grid change)
  calls :func:`seats_changed`, which replaces the show's token with a fresh random value; a
  change of the price factors replaces a global token that every entry also checks;
- an entry is served only while both tokens equal the ones it was built under, and only until
  the earliest hold it shows as ``held`` lapses, so expiries appear on time without any write;
- each process also keeps its own copy of the body, so a hit costs one round trip for two short
  tokens (``get_many``), whatever the size of the map.

A reader that computed the map from a snapshot older than a write stored it under the tokens it
read *before* computing, which that write replaced: the stale map is never served. A random
token (rather than a counter) cannot be lost to two writers incrementing at once. One cache
round trip on a hit (``get_many``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.utils import timezone

from . import signals

MAX_AGE_SECONDS = 60
GLOBAL_KEY = "seatmap:g"


def _keys(showtime_id: int) -> tuple[str, str]:
    return f"seatmap:v:{showtime_id}", f"seatmap:d:{showtime_id}"


def _token() -> str:
    return uuid.uuid4().hex


def _invalidate(key: str) -> None:
    cache.set(key, _token(), timeout=None)


def seats_changed(showtime_id: int, seat_ids: Iterable[int] | None = None) -> None:
    """The one hook every write that changes a show's seats calls (hold, sale, cancel, expiry,
    a price or grid change of the show), inside its transaction, after its writes. ``seat_ids``
    are the seats whose status changed; None when the whole map changed (prices, the grid).

    It replaces the show's token twice: now, so reads later in the same transaction (and tests
    that never commit) see the change, and again once the transaction commits, so a reader that
    re-cached the old state in between is made stale. With the database cache the first write
    joins the writer's transaction and locks the token row until commit; it is the last
    statement, so buyers of one show queue only for the commit itself. Redis has no such lock.

    Then it records the change in the seat-change feed (:class:`SeatChange`, whose id is the
    stream position) and announces it (``signals.seats_changed``), in the same transaction: the
    live seat map (boxoffice.live) publishes it to every process once it commits. Called
    outside a transaction, it opens one of its own."""
    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            seats_changed(showtime_id, seat_ids)
        return
    key = _keys(showtime_id)[0]
    _invalidate(key)
    transaction.on_commit(lambda: _invalidate(key))
    from .models import SeatChange

    change = SeatChange.objects.create(
        showtime_id=showtime_id,
        seat_ids=sorted(set(seat_ids)) if seat_ids is not None else None,
    )
    signals.seats_changed.send(sender=SeatChange, change=change)


def prices_changed() -> None:
    """Every show's map is stale (the price factors changed): the global token, twice as
    :func:`seats_changed` does for one show."""
    _invalidate(GLOBAL_KEY)
    transaction.on_commit(lambda: _invalidate(GLOBAL_KEY))


def _current(key: str) -> tuple[str, bool]:
    """The token under ``key``, made now if there is none; and whether this call made it."""
    token = _token()
    if cache.add(key, token, timeout=None):
        return token, True
    return cache.get(key) or token, False


# This process's copy of recently served maps: {showtime_id: (version, generation, valid_until,
# body)}. A hit then fetches only the two short tokens from the shared cache, not the body.
_LOCAL: dict[int, tuple[str, str, datetime | None, bytes]] = {}
_LOCAL_MAX = 2000


def _fresh(
    entry: tuple[str, str, datetime | None, bytes], version: str, generation: str, now: datetime
) -> bool:
    entry_version, entry_generation, valid_until, _ = entry
    return (
        entry_version == version
        and entry_generation == generation
        and (valid_until is None or now < valid_until)
    )


def get_or_build(
    showtime_id: int,
    build: Callable[[], tuple[bytes, datetime | None]],
    *,
    fetch: Callable[[list[str]], dict] | None = None,
) -> bytes:
    """The rendering still true now: this process's copy, the shared cache's, or ``build()``'s
    (bytes, valid_until), which is then stored for every process. ``fetch`` reads the tokens
    (default ``cache.get_many``); the view passes one that also counts the request against its
    throttle in the same round trip."""
    version_key, data_key = _keys(showtime_id)
    tokens = (fetch or cache.get_many)([version_key, GLOBAL_KEY])
    now = timezone.now()
    version, generation = tokens.get(version_key), tokens.get(GLOBAL_KEY)
    if version is not None and generation is not None:
        local = _LOCAL.get(showtime_id)
        if local is not None and _fresh(local, version, generation, now):
            return local[3]
        shared = cache.get(data_key)
        if shared is not None and _fresh(shared, version, generation, now):
            _remember(showtime_id, shared)
            return shared[3]
    made = False
    if version is None:
        version, made = _current(version_key)
    if generation is None:
        generation = _current(GLOBAL_KEY)[0]
    try:
        body, valid_until = build()
    except ObjectDoesNotExist:
        # No such show (the view's 404): take back the token this call made, or every unknown
        # id asked for would leave a cache row that never expires. Safe whenever it runs: a
        # missing token is made afresh by the next reader, and a fresh random token matches no
        # stored entry.
        if made:
            cache.delete(version_key)
        raise
    entry = (version, generation, valid_until, body)
    timeout = MAX_AGE_SECONDS
    if valid_until is not None:
        timeout = max(1, min(timeout, int((valid_until - now).total_seconds())))
    cache.set(data_key, entry, timeout=timeout)
    _remember(showtime_id, entry)
    return body


def _remember(showtime_id: int, entry: tuple[str, str, datetime | None, bytes]) -> None:
    if len(_LOCAL) >= _LOCAL_MAX:
        _LOCAL.clear()
    _LOCAL[showtime_id] = entry

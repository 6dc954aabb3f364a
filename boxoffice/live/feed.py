"""Reading the seat-change feed for a stream: snapshots, replays and deltas, as SSE frames.

The feed itself (booking.models.SeatChange) is written by the booking app in each writer's
transaction. A change row is only a trigger: the seats it names are read as they are *now*, so
a row seen twice, late or out of order never shows a wrong status; the worst case is saying the
same thing twice.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from boxoffice.booking import selectors, services
from boxoffice.booking.models import SeatChange

# How far before the last seen change a resume also looks: a writer that took its id earlier
# may commit later than one with a larger id (ids are handed out at INSERT, not at COMMIT).
REPLAY_SLACK = timedelta(seconds=5)


def frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    """One server-sent event. ``data`` bytes are JSON already (a cached seat map)."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    text = data.decode() if isinstance(data, bytes) else json.dumps(data, separators=(",", ":"))
    lines.append("data: " + text)
    return ("\n".join(lines) + "\n\n").encode()


HEARTBEAT = b": keep-alive\n\n"


def retry_hint() -> bytes:
    """How long a client waits before reconnecting (EventSource's ``retry:`` field)."""
    return f"retry: {settings.LIVE_RETRY_MS}\n\n".encode()


def snapshot_body(showtime_id: int) -> tuple[int, bytes]:
    """The seat map object (rendered JSON) and its version: the seat-map cache's body, the one
    ``GET .../seats/`` serves, so a connect to an unchanged show reads no seat. Raises
    Showtime.DoesNotExist."""
    body = selectors.seat_map_json(showtime_id)
    return json.loads(body)["version"], body


def snapshot(showtime_id: int) -> tuple[int, bytes]:
    """The ``snapshot`` frame (the seat map object, ``id`` its version). Raises
    Showtime.DoesNotExist."""
    version, body = snapshot_body(showtime_id)
    return version, frame("snapshot", body, version)


# Last-Event-ID: plain ASCII decimal digits (int() and str.isdigit() also accept "²", "٣" or
# fullwidth digits), and short enough to be a feed id.
_POSITION = re.compile(r"[0-9]{1,18}")


def resume_position(header: str | None) -> int:
    """The feed position a Last-Event-ID header names; 0 (no position: send a snapshot) for
    anything else than 1 to 18 ASCII digits."""
    text = (header or "").strip(" \t")
    return int(text) if _POSITION.fullmatch(text) else 0


def first_event(showtime_id: int, resume_from: int) -> tuple[int, bytes]:
    """A stream's first event and its id: the changes since ``resume_from`` (one ``seats``
    event), or a ``snapshot`` when there is no position or it is no longer in the feed. Raises
    Showtime.DoesNotExist."""
    delta = changes_after(showtime_id, resume_from) if resume_from else None
    if delta is None:
        return snapshot(showtime_id)
    if delta.seat_ids is None:
        version, body = snapshot_body(showtime_id)
        last = max(delta.newest, version)
        return last, frame("snapshot", body, last)
    return delta.newest, frame("seats", statuses(showtime_id, delta.seat_ids), delta.newest)


def statuses(showtime_id: int, seat_ids: list[int]) -> list[dict[str, Any]]:
    """``[{id, status}]`` of these seats now: a ``seats`` event's data."""
    return selectors.seat_statuses(showtime_id, seat_ids)


@dataclass(frozen=True)
class Delta:
    """What changed for one show: seat ids (None: the whole map) up to ``newest``."""

    newest: int
    seat_ids: list[int] | None


def changes_after(showtime_id: int, after: int) -> Delta | None:
    """The changes a client that saw up to ``after`` has missed, or None when that position is
    no longer in the feed (too old, or unknown): such a client gets a new snapshot."""
    if after <= 0:
        return None
    seen = SeatChange.objects.filter(pk=after).values_list("created_at", "showtime_id").first()
    if seen is None or seen[1] != showtime_id:
        return None
    rows = list(
        SeatChange.objects.filter(showtime_id=showtime_id)
        .filter(Q(pk__gt=after) | Q(created_at__gte=seen[0] - REPLAY_SLACK, pk__lt=after))
        .values_list("pk", "seat_ids")
    )
    newest = max([after, *(pk for pk, _ in rows)])
    seat_ids: set[int] = set()
    for _, ids in rows:
        if ids is None:
            return Delta(newest=newest, seat_ids=None)
        seat_ids.update(ids)
    return Delta(newest=newest, seat_ids=sorted(seat_ids))


def change(change_id: int) -> tuple[int, list[int] | None] | None:
    """(showtime id, seat ids) of one change row, or None when it is gone."""
    return SeatChange.objects.filter(pk=change_id).values_list("showtime_id", "seat_ids").first()


def next_lapse(showtime_id: int) -> datetime | None:
    return selectors.next_hold_lapse(showtime_id)


def tidy_lapsed(showtime_id: int) -> int:
    """End the show's holds whose time is up; their freed seats become a change in the feed
    (so every listener hears of it, on every host) although no request changed anything."""
    return services.expire_holds_of_show(showtime_id=showtime_id)


def recent_changes(since_id: int, window: timedelta) -> list[tuple[int, int]]:
    """(id, showtime id) of changes after ``since_id`` or created within ``window``: the
    catch-up read of processes that missed a notification (or have none, on SQLite)."""
    floor = timezone.now() - window
    return list(
        SeatChange.objects.filter(Q(pk__gt=since_id) | Q(created_at__gte=floor))
        .order_by("pk")
        .values_list("pk", "showtime_id")
    )

"""How a seat change reaches every server process on every host.

A change is published once its transaction has committed (``on_commit``), outside the writer's
locks, on the transport ``LIVE_TRANSPORT`` names:

- ``postgres`` (the default on PostgreSQL): ``NOTIFY boxoffice_seats, '<change id>:<show id>'``;
  every process LISTENs on its own connection (see :mod:`.hub`). Crosses processes and hosts
  with nothing new to run.
- ``redis`` (the default when CACHE_URL is Redis): ``PUBLISH`` on the same channel name.
- ``poll`` (the default on SQLite, the embedded default): nothing is sent; each process reads
  the feed table a few times a second.

Whatever the transport, each process also re-reads the recent feed every LIVE_CATCHUP_SECONDS,
so a notification lost with a crashed process or a dropped connection delays a change, never
loses it.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import receiver

from boxoffice.booking.models import SeatChange
from boxoffice.booking.signals import seats_changed

log = logging.getLogger(__name__)
CHANNEL = "boxoffice_seats"


def transport() -> str:
    """The configured transport (LIVE_TRANSPORT, or ``auto`` chosen as the module says)."""
    chosen = settings.LIVE_TRANSPORT
    if chosen != "auto":
        return chosen
    if settings.CACHE_URL.startswith(("redis://", "rediss://")):
        return "redis"
    return "postgres" if connection.vendor == "postgresql" else "poll"


def message(change: SeatChange) -> str:
    return f"{change.pk}:{change.showtime_id}"


def parse(payload: str | bytes) -> tuple[int, int] | None:
    """(change id, show id) from a notification, or None for anything else."""
    if isinstance(payload, bytes):
        payload = payload.decode(errors="replace")
    change_id, _, showtime_id = payload.partition(":")
    if change_id.isdigit() and showtime_id.isdigit():
        return int(change_id), int(showtime_id)
    return None


def redis_channel() -> str:
    """Redis channels are shared by every database number of a server: the channel names this
    deployment's database, so deployments sharing a Redis do not hear each other."""
    return f"{CHANNEL}:{settings.DATABASES['default']['NAME']}"


def _redis_client() -> Any:
    """One client per process and URL: a client per publish would open a connection per
    change."""
    return _redis_client_for(settings.LIVE_REDIS_URL or settings.CACHE_URL)


@functools.cache
def _redis_client_for(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def publish(payload: str) -> None:
    """Tell every process (best effort: the catch-up read covers a lost one)."""
    try:
        kind = transport()
        if kind == "postgres":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, payload])
        elif kind == "redis":
            _redis_client().publish(redis_channel(), payload)
    except Exception as exc:  # never fail a write that has already committed
        log.warning("could not publish seat change %s: %s", payload, exc)


@receiver(seats_changed, sender=SeatChange)
def publish_on_commit(sender: type, change: SeatChange, **kwargs: Any) -> None:
    if transport() == "poll":
        return
    payload = message(change)
    transaction.on_commit(lambda: publish(payload))

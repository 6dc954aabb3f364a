"""Django's Redis cache backend, with one client per process.

Django keeps a cache backend object per thread *and per async context*. Under ``scripts/serve``
the sync API runs in a2wsgi's thread pool, where every request starts in a new context: each
request got a new backend, so a new client, a new connection pool and a new TCP connection to
Redis (and redis-py read its package metadata from disk to describe each new client). The seat
map bench measured the app at a quarter of the same app under gunicorn's threads.

This backend shares one client among all its instances in the process that have the same
servers and options; the client's connection pools are thread-safe, and redis-py starts new
ones in a forked child (it checks the process id).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.utils.functional import cached_property

_clients: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class RedisCache(DjangoRedisCache):
    @cached_property
    def _cache(self) -> Any:
        # Django's own attributes, set by its __init__ (private: not in the stubs).
        servers, options = self._servers, self._options  # type: ignore[attr-defined]
        key = (tuple(servers), repr(sorted(options.items())))
        with _lock:
            client = _clients.get(key)
            if client is None:
                client = _clients[key] = self._class(servers, **options)  # type: ignore[attr-defined]
        return client

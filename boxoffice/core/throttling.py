"""Request throttles. Counters live in the default cache, which every server process shares.

Rates come from settings (``THROTTLE_LOGIN``, ``THROTTLE_USER``, ``THROTTLE_ANON``,
``THROTTLE_PASSWORD_RESET``), read when a throttle runs rather than when this module is imported,
so tests and operators can change them.

Counting is a fixed window: one counter per client and window (``"10/minute"`` allows 10 in each
calendar minute), incremented atomically. That is one cache round trip per throttle on Redis
(INCR + EXPIRE in a pipeline), instead of the read-modify-write of a timestamp list that DRF's
sliding window needs; the price is that a client may spend two windows' allowance around a
window boundary. The database cache has no atomic increment, so under concurrency its counts
can run slightly low: use Redis where throttling must be exact.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from rest_framework import exceptions, throttling

if TYPE_CHECKING:  # rest_framework.views imports the throttles itself: no runtime import
    from redis import Redis
    from rest_framework.request import Request
    from rest_framework.views import APIView

_DURATIONS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "10/minute" -> (10, 60)."""
    count, period = rate.split("/")
    return int(count), _DURATIONS[period.strip()[0].lower()]


_redis_clients: dict[tuple[str, ...], Redis] = {}


def _redis_client(backend: RedisCache) -> Redis:
    """One redis-py client per cache backend and process. Django builds a new client object for
    every cache operation, and building one (its response-callback table) costs more than the
    round trip itself on the hot path; a client is thread-safe over its connection pool."""
    servers = tuple(backend._cache._servers)  # type: ignore[attr-defined]  # private: not in the stubs
    client = _redis_clients.get(servers)
    if client is None:
        client = _redis_clients[servers] = backend._cache.get_client(write=True)
    return client


def hit(key: str, *, window_seconds: int) -> int:
    """Count one request against ``key`` and return the count so far in this window."""
    timeout = window_seconds + 1
    backend = caches["default"]  # the backend itself: ``cache`` is only a proxy to it
    if isinstance(backend, RedisCache):
        full_key = backend.make_and_validate_key(key)
        pipeline = _redis_client(backend).pipeline()
        pipeline.incr(full_key)
        pipeline.expire(full_key, timeout, nx=True)
        return int(pipeline.execute()[0])
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def hit_and_get_many(key: str, *, window_seconds: int, keys: list[str]) -> tuple[int, dict]:
    """:func:`hit` and ``cache.get_many(keys)`` together: one round trip on Redis (INCR,
    EXPIRE NX and MGET pipelined)."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return hit(key, window_seconds=window_seconds), backend.get_many(keys)
    full_key = backend.make_and_validate_key(key)
    full_keys = [backend.make_and_validate_key(k) for k in keys]
    client = _redis_client(backend)
    pipeline = client.pipeline(transaction=False)
    pipeline.incr(full_key)
    pipeline.expire(full_key, window_seconds + 1, nx=True)
    pipeline.mget(full_keys)
    count, _, values = pipeline.execute()
    loads = backend._cache._serializer.loads  # type: ignore[attr-defined]  # private: not in the stubs
    return int(count), {k: loads(v) for k, v in zip(keys, values, strict=True) if v is not None}


class FixedWindowThrottle(throttling.BaseThrottle):
    scope: str = ""

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: APIView | None) -> bool:
        rate = self.get_rate()
        if not rate:
            return True
        ident = self.get_ident_key(request, view)
        if ident is None:
            return True
        allowed, duration = parse_rate(rate)
        now = time.time()
        window = int(now // duration)
        self._wait = duration - (now % duration)
        return hit(f"throttle:{self.scope}:{ident}:{window}", window_seconds=duration) <= allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)

    def count_and_get_many(self, request: Request, view: APIView | None, keys: list[str]) -> dict:
        """Count this request and read ``keys`` from the cache in one round trip; raise
        Throttled (429) when over the rate. For hot views that read the cache anyway."""
        rate = self.get_rate()
        ident = self.get_ident_key(request, view) if rate else None
        if not rate or ident is None:
            return cache.get_many(keys)
        allowed, duration = parse_rate(rate)
        now = time.time()
        key = f"throttle:{self.scope}:{ident}:{int(now // duration)}"
        count, values = hit_and_get_many(key, window_seconds=duration, keys=keys)
        if count > allowed:
            raise exceptions.Throttled(wait=duration - (now % duration))
        return values


class AnonThrottle(FixedWindowThrottle):
    """Anonymous requests, per client address."""

    scope = "anon"

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)


class UserThrottle(FixedWindowThrottle):
    """Signed-in requests, per user (anonymous ones are AnonThrottle's)."""

    scope = "user"

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class LoginIPThrottle(FixedWindowThrottle):
    """Login and token requests per client address: slows down password spraying."""

    scope = "login_ip"

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        return self.get_ident(request)


class LoginUsernameThrottle(FixedWindowThrottle):
    """Login and token requests per username, from any address: slows down guessing one
    account's password from many machines."""

    scope = "login_username"
    field = "username"  # the body field counted

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        value = request.data.get(self.field) if hasattr(request.data, "get") else None
        if not isinstance(value, str) or not value:
            return None
        # Hashed: a username may hold any character, a cache key should not.
        return hashlib.sha256(value.strip().lower().encode()).hexdigest()


class LoginUserThrottle(LoginUsernameThrottle):
    """A signed-in user's password checks (the password change) on the same counter as the
    logins to that username: a stolen session cannot guess the password faster than a login
    could."""

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return hashlib.sha256(request.user.get_username().strip().lower().encode()).hexdigest()


class PasswordResetIPThrottle(LoginIPThrottle):
    """Password-reset emails asked for per client address (``THROTTLE_PASSWORD_RESET``)."""

    scope = "password_reset_ip"


class PasswordResetEmailThrottle(LoginUsernameThrottle):
    """Password-reset emails asked for per email address, from any client: nobody can flood
    one inbox."""

    scope = "password_reset_email"
    field = "email"


LOGIN_THROTTLES = [LoginIPThrottle, LoginUsernameThrottle]
PASSWORD_RESET_THROTTLES = [PasswordResetIPThrottle, PasswordResetEmailThrottle]

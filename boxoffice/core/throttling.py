"""Request throttles. Counters live in the default cache, which every server process shares.

Rates come from settings (``THROTTLE_LOGIN``, ``THROTTLE_USER``, ``THROTTLE_ANON``), read when a
throttle is built rather than when this module is imported, so tests and operators can change them.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from rest_framework import throttling


class _SettingsRateMixin:
    scope: str

    def get_rate(self) -> str | None:
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get(self.scope)


class AnonThrottle(_SettingsRateMixin, throttling.AnonRateThrottle):
    """Anonymous requests, per client address."""


class UserThrottle(_SettingsRateMixin, throttling.UserRateThrottle):
    """Signed-in requests, per user."""


class LoginIPThrottle(_SettingsRateMixin, throttling.SimpleRateThrottle):
    """Login and token requests per client address: slows down password spraying."""

    scope = "login_ip"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(_SettingsRateMixin, throttling.SimpleRateThrottle):
    """Login and token requests per username, from any address: slows down guessing one
    account's password from many machines."""

    scope = "login_username"

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username:
            return None
        # Hashed: a username may hold any character, a cache key should not.
        ident = hashlib.sha256(username.strip().lower().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": ident}


LOGIN_THROTTLES = [LoginIPThrottle, LoginUsernameThrottle]

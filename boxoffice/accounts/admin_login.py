"""The Django admin site's sign-in, throttled like the API login.

Promoted admins are staff, so ``/admin/login/`` is a second door to the same accounts. It
counts against the very same throttles as ``POST /api/v1/auth/login/`` (``LOGIN_THROTTLES``:
per client address and per username, the THROTTLE_LOGIN rate, counters in the shared cache),
so a guesser gets one budget across both doors. Only attempts (POST) count; showing the form
is free. Everything else is Django's own admin login view.
"""

from __future__ import annotations

import math

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.views import APIView

from boxoffice.core.throttling import LOGIN_THROTTLES


def _throttle_wait(request: HttpRequest) -> float | None:
    """Count this attempt against every login throttle; the seconds to wait when any of them
    refuses it, else None. As DRF does, every throttle counts, even after one has refused."""
    # The throttles read DRF's request (``data`` for the username, ``META`` for the address).
    drf_request = Request(request, parsers=[FormParser(), MultiPartParser()])
    view = APIView()  # the throttles' signature wants one; the login throttles never read it
    waits = []
    for throttle in (cls() for cls in LOGIN_THROTTLES):
        if not throttle.allow_request(drf_request, view):
            waits.append(throttle.wait() or 1.0)
    return max(waits) if waits else None


def _in_words(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


@never_cache
def throttled_admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    if request.method == "POST":
        wait = _throttle_wait(request)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            response = TemplateResponse(
                request,
                "accounts/admin_login_throttled.html",
                {
                    **admin.site.each_context(request),
                    "title": "Too many sign-in attempts",
                    "retry_after": _in_words(seconds),
                },
                status=429,
            )
            response["Retry-After"] = str(seconds)
            return response
    return admin.site.login(request, extra_context)

"""Authentication: a Bearer header for API clients, an HttpOnly cookie for browsers.

A cookie is sent by the browser on its own, so a cookie-authenticated unsafe request could be
forged by another site; it must therefore pass Django's CSRF check (``X-CSRFToken`` equal to the
``csrftoken`` cookie). A Bearer header can only be set by code that holds the token, so those
requests need no CSRF token.
"""

from __future__ import annotations

from django.conf import settings
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework import exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication


class _CSRFCheck(CsrfViewMiddleware):
    def _reject(self, request, reason):
        return reason


def enforce_csrf(request) -> None:
    """Raise 403 unless the request carries a valid CSRF token (safe methods always pass)."""

    def dummy_get_response(request):  # pragma: no cover
        return None

    check = _CSRFCheck(dummy_get_response)
    check.process_request(request)
    # No view callback, as in DRF's own CSRF check: Django only reads it for csrf_exempt.
    reason = check.process_view(request, None, (), {})  # type: ignore[arg-type]
    if reason:
        raise exceptions.PermissionDenied(f"CSRF failed: {reason}")


class CookieOrHeaderJWTAuthentication(JWTAuthentication):
    def authenticate(self, request):
        header = self.get_header(request)
        if header is not None:
            return super().authenticate(request)

        raw_token = request.COOKIES.get(settings.JWT_ACCESS_COOKIE)
        if not raw_token:
            return None
        validated = self.get_validated_token(raw_token.encode())
        user = self.get_user(validated)
        enforce_csrf(request._request)
        return user, validated

"""Setting and clearing the JWT cookies that browser clients use.

Both tokens travel as HttpOnly cookies (scripts cannot read them), SameSite=Lax, Secure outside
DEBUG. The refresh cookie is scoped to the auth endpoints so it is not sent with every request.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from django.conf import settings
from django.http import HttpResponse
from rest_framework_simplejwt.settings import api_settings as jwt_settings

REFRESH_COOKIE_PATH = "/api/v1/auth/"


class _CookieFlags(TypedDict):
    httponly: bool
    secure: bool
    samesite: Literal["Lax", "Strict", "None"]


def set_auth_cookies(response: HttpResponse, *, access: str, refresh: str | None) -> None:
    common: _CookieFlags = {
        "httponly": True,
        "secure": settings.JWT_COOKIE_SECURE,
        "samesite": settings.JWT_COOKIE_SAMESITE,
    }
    response.set_cookie(
        settings.JWT_ACCESS_COOKIE,
        access,
        max_age=int(jwt_settings.ACCESS_TOKEN_LIFETIME.total_seconds()),
        path="/",
        **common,
    )
    if refresh is not None:
        response.set_cookie(
            settings.JWT_REFRESH_COOKIE,
            refresh,
            max_age=int(jwt_settings.REFRESH_TOKEN_LIFETIME.total_seconds()),
            path=REFRESH_COOKIE_PATH,
            **common,
        )


def clear_auth_cookies(response: HttpResponse) -> None:
    response.delete_cookie(
        settings.JWT_ACCESS_COOKIE, path="/", samesite=settings.JWT_COOKIE_SAMESITE
    )
    response.delete_cookie(
        settings.JWT_REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, samesite=settings.JWT_COOKIE_SAMESITE
    )

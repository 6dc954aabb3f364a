"""Who is looking at a shop page: the API's own access cookie, read the way the API reads it.

Pages are GET requests, so no CSRF check is needed to read it. An access token that has run
out while the refresh cookie is still there marks the page ``needs_refresh``: its script then
refreshes the tokens through the API and reloads."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from boxoffice.accounts.models import User


@dataclass(frozen=True)
class Visitor:
    user: User | None
    needs_refresh: bool

    @property
    def is_admin(self) -> bool:
        return self.user is not None and self.user.is_admin


def visitor(request: HttpRequest) -> Visitor:
    raw = request.COOKIES.get(settings.JWT_ACCESS_COOKIE)
    if raw:
        auth = JWTAuthentication()
        try:
            user = auth.get_user(auth.get_validated_token(raw.encode()))
        except (InvalidToken, TokenError, AuthenticationFailed):
            user = None
        if isinstance(user, User) and user.is_active:
            return Visitor(user=user, needs_refresh=False)
    return Visitor(user=None, needs_refresh=bool(request.COOKIES.get(settings.JWT_REFRESH_COOKIE)))

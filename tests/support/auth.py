"""Signing in as a browser does: the cookie login, with Django's CSRF checks on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.test import APIClient

if TYPE_CHECKING:
    from boxoffice.accounts.models import User

PASSWORD = "correct-horse-battery-staple"
LOGIN = "/api/v1/auth/login/"


def browser_login(user: User, *, password: str = PASSWORD) -> APIClient:
    """A browser-like client (CSRF checks on) signed in through the cookie login."""
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username": user.username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return client


def csrf_header(client: APIClient) -> dict[str, str]:
    """The header a page's script sends: the CSRF cookie's value."""
    return {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}

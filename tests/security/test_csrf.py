"""CSRF on cookie-authenticated writes.

A browser sends the JWT cookies by itself, so any unsafe request authenticated by them must
carry ``X-CSRFToken`` equal to the ``csrftoken`` cookie. Every unsafe route is taken from the
URL resolver; only the routes that take no cookie credentials are exempt.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.apps import apps
from django.urls import URLResolver, get_resolver
from rest_framework.test import APIClient

from boxoffice.booking.models import Booking, BookingStatus
from tests.payments.helpers import hold
from tests.support.auth import browser_login, csrf_header

from .helpers import BOOKINGS, LOGOUT, ME, REFRESH, assert_error

pytestmark = pytest.mark.django_db

# Routes that never authenticate with the cookies: credentials in the body (login, token, the
# password-reset request and its emailed link) or a Stripe signature (webhook). Everything else
# that writes must check CSRF under cookies.
EXEMPT = {
    "api/v1/auth/login/",
    "api/v1/auth/token/",
    "api/v1/auth/password-reset/",
    "api/v1/auth/password-reset/confirm/",
    "api/v1/payments/stripe/webhook/",
}
UNSAFE = ("post", "put", "patch", "delete")


def _walk(patterns: list, prefix: str = ""):  # type: ignore[no-untyped-def]
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def unsafe_routes() -> list[tuple[str, str]]:
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or route in EXEMPT:
            continue
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        if actions:
            methods = [m for m in actions if m in UNSAFE]
        else:
            view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            methods = [m for m in UNSAFE if view is not None and hasattr(view, m)]
        found.extend((route, m) for m in methods)
    return sorted(found)


ROUTES = unsafe_routes()


def _snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every model of ours and of the token blacklist."""
    labels = {"accounts", "catalog", "schedule", "booking", "payments", "core", "token_blacklist"}
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in labels
    }


@pytest.fixture
def ids(admin_user, customer, movie, screen, showtime) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from tests.conftest import bearer

    booking = hold(bearer(admin_user), showtime, n=1)
    return {
        "bookings": booking["id"],
        "users": customer.pk,
        "genres": movie.genres.get().pk,
        "movies": movie.pk,
        "theaters": screen.theater_id,
        "screens": screen.pk,
        "showtimes": showtime.pk,
    }


def _url(route: str, ids: dict[str, int]) -> str:
    resource = route.removeprefix("api/v1/").split("/")[0]
    return "/" + re.sub(r"<[^>]+>", str(ids.get(resource, 1)), route)


def test_the_route_list_is_not_empty_and_names_the_contract():
    names = {f"{m.upper()} /{r}" for r, m in ROUTES}
    for expected in (
        "POST /api/v1/bookings/",
        "POST /api/v1/bookings/<str:pk>/cancel/",
        "POST /api/v1/auth/logout/",
        "POST /api/v1/auth/refresh/",
        "POST /api/v1/auth/password/",
        "POST /api/v1/users/<str:pk>/promote/",
    ):
        assert expected in names, sorted(names)


@pytest.mark.parametrize(("route", "method"), ROUTES, ids=[f"{m} {r}" for r, m in ROUTES])
def test_cookie_write_without_csrf_token_is_403_and_changes_nothing(admin_user, ids, route, method):
    client = browser_login(admin_user)
    before = _snapshot()
    response = getattr(client, method)(_url(route, ids), {}, format="json")
    body = assert_error(response, 403)
    assert "CSRF" in body["errors"][0]["detail"], body
    assert _snapshot() == before


# --- The customer's browser routes, one by one, with every way of getting the token wrong -------


def _book(client: APIClient, showtime, **extra: Any):  # type: ignore[no-untyped-def]
    seat = client.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"][0]["id"]
    return client.post(BOOKINGS, {"showtime": showtime.pk, "seats": [seat]}, format="json", **extra)


BAD_TOKENS = {
    "missing": {},
    "wrong": {"HTTP_X_CSRFTOKEN": "x" * 32},
    "empty": {"HTTP_X_CSRFTOKEN": ""},
}


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_booking_create_needs_csrf_under_cookies(customer, showtime, bad):
    client = browser_login(customer)
    assert_error(_book(client, showtime, **BAD_TOKENS[bad]), 403)
    assert not Booking.objects.exists()
    response = _book(client, showtime, **csrf_header(client))
    assert response.status_code == 201, response.content


def test_another_browsers_csrf_token_does_not_fit(customer, other_customer, showtime):
    """The attacker's own (valid) token is useless against the victim's cookie."""
    victim = browser_login(customer)
    attacker = browser_login(other_customer)
    assert_error(_book(victim, showtime, **csrf_header(attacker)), 403)
    assert not Booking.objects.exists()


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_cancel_needs_csrf_under_cookies(customer, showtime, bad):
    client = browser_login(customer)
    booking = _book(client, showtime, **csrf_header(client)).json()
    url = f"{BOOKINGS}{booking['id']}/cancel/"
    assert_error(client.post(url, **BAD_TOKENS[bad]), 403)
    assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.PENDING
    response = client.post(url, **csrf_header(client))
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_logout_needs_csrf_under_cookies(customer, bad):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    client = browser_login(customer)
    assert_error(client.post(LOGOUT, **BAD_TOKENS[bad]), 403)
    assert not BlacklistedToken.objects.exists()
    assert client.get(ME).status_code == 200
    assert client.post(LOGOUT, **csrf_header(client)).status_code == 204
    assert BlacklistedToken.objects.count() == 1


@pytest.mark.parametrize("bad", BAD_TOKENS)
def test_refresh_by_cookie_needs_csrf(customer, bad):
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

    client = browser_login(customer)
    old = client.cookies["refresh_token"].value
    response = client.post(REFRESH, **BAD_TOKENS[bad])
    assert_error(response, 403)
    assert "access_token" not in response.cookies
    assert client.cookies["refresh_token"].value == old
    assert not BlacklistedToken.objects.exists()
    assert client.post(REFRESH, **csrf_header(client)).status_code == 200


def test_a_foreign_origin_is_refused_even_with_the_right_token(customer, showtime, settings):
    """Django also checks Origin: a page on another site cannot write, token or not, unless
    that origin is trusted."""
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    client = browser_login(customer)
    evil = {"HTTP_ORIGIN": "https://evil.example.com", **csrf_header(client)}
    body = assert_error(_book(client, showtime, **evil), 403)
    assert "Origin" in body["errors"][0]["detail"]
    assert not Booking.objects.exists()
    trusted = {"HTTP_ORIGIN": "https://app.example.com", **csrf_header(client)}
    assert _book(client, showtime, **trusted).status_code == 201


def test_https_cookie_write_checks_the_referer(customer, showtime):
    """Over HTTPS without an Origin header, the Referer must be our own site."""
    client = browser_login(customer)
    token = csrf_header(client)
    assert_error(_book(client, showtime, secure=True, **token), 403)  # no Referer at all
    assert_error(
        _book(client, showtime, secure=True, HTTP_REFERER="https://evil.example.com/x", **token),
        403,
    )
    assert not Booking.objects.exists()
    ok = _book(client, showtime, secure=True, HTTP_REFERER="https://testserver/app", **token)
    assert ok.status_code == 201, ok.content


def test_bearer_requests_need_no_csrf_but_cookies_still_do_alongside(customer, showtime):
    """A Bearer header is preferred; an invalid one never falls back to the cookies."""
    client = browser_login(customer)
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert_error(_book(client, showtime, **csrf_header(client)), 401)
    assert not Booking.objects.exists()

"""Login CSRF: a page on another site must not sign the victim's browser in to the attacker's
account (the victim would then book and pay under the attacker's name, or type card details
into the attacker's account).

Two locks, each enough against a cross-site HTML form:
- the login takes JSON only: a cross-site form can send only form-encoded, multipart or
  text/plain bodies, and a cross-site ``fetch`` with ``application/json`` needs a CORS preflight
  that only our configured origins pass;
- a login whose Origin (or, without one, Referer) is neither our own site nor a trusted origin
  (CSRF_TRUSTED_ORIGINS, CORS_ALLOWED_ORIGINS) is refused with 403.
Clients that send neither header (curl, generated API clients) are not browsers and keep working.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

from .helpers import LOGIN, assert_error

pytestmark = pytest.mark.django_db

EVIL = "https://evil.example.net"


def _creds(user: Any) -> dict[str, str]:
    return {"username": user.username, "password": PASSWORD}


def _signed_in(response: Any) -> bool:
    return bool(response.cookies.get("access_token") and response.cookies["access_token"].value)


def _json_login(user: Any, **headers: Any) -> Any:
    return APIClient(enforce_csrf_checks=True).post(LOGIN, _creds(user), format="json", **headers)


# --- The attack ------------------------------------------------------------------------------


def test_a_cross_site_form_post_does_not_sign_the_victim_in(customer):
    """What the attacker's page does: <form method=post action=.../auth/login/> auto-submitted,
    carrying the attacker's credentials."""
    browser = APIClient(enforce_csrf_checks=True)
    response = browser.post(
        LOGIN,
        _creds(customer),
        format="multipart",
        HTTP_ORIGIN=EVIL,
        HTTP_REFERER=f"{EVIL}/win-a-prize",
    )
    assert_error(response, 403)
    assert not _signed_in(response)
    form = browser.generic(
        "POST",
        LOGIN,
        f"username={customer.username}&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
        HTTP_ORIGIN=EVIL,
    )
    assert_error(form, 403)
    assert not _signed_in(form)


def test_the_refusal_names_the_origin(customer):
    body = assert_error(_json_login(customer, HTTP_ORIGIN=EVIL), 403)
    assert EVIL in body["errors"][0]["detail"]
    assert body["errors"][0]["attr"] is None


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"],
)
def test_a_form_body_is_refused_even_without_origin_or_referer(customer, content_type):
    """Referrer-Policy: no-referrer on the attacker's page, and a browser that leaves Origin
    out: the body type alone still refuses it."""
    if content_type == "text/plain":  # <form enctype="text/plain"> forging a JSON-looking body
        payload = json.dumps(_creds(customer))[:-1] + ', "x": "="}'
    elif content_type.startswith("multipart"):
        payload = (
            f'--x\r\nContent-Disposition: form-data; name="username"\r\n\r\n{customer.username}'
            f'\r\n--x\r\nContent-Disposition: form-data; name="password"\r\n\r\n{PASSWORD}'
            "\r\n--x--\r\n"
        )
    else:
        payload = f"username={customer.username}&password={PASSWORD}"
    response = APIClient().generic("POST", LOGIN, payload, content_type=content_type)
    assert_error(response, 415)
    assert not _signed_in(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": EVIL},
        {"HTTP_ORIGIN": "null"},  # a sandboxed iframe or a data: URL
        {"HTTP_ORIGIN": "https://testserver.evil.example.net"},
        {"HTTP_ORIGIN": "http://testserver:8080"},  # another port is another origin
        {"HTTP_REFERER": f"{EVIL}/page"},
        {"HTTP_REFERER": "not a url"},
    ],
    ids=lambda h: "|".join(f"{k}={v}" for k, v in h.items()),
)
def test_foreign_origins_are_refused_even_with_a_json_body(customer, headers):
    response = _json_login(customer, **headers)
    assert_error(response, 403)
    assert not _signed_in(response)


def test_https_site_refuses_its_http_twin(customer):
    response = _json_login(customer, secure=True, HTTP_ORIGIN="http://testserver")
    assert_error(response, 403)


# --- Legitimate clients ----------------------------------------------------------------------


def test_api_clients_without_origin_or_referer_sign_in(customer):
    response = _json_login(customer)
    assert response.status_code == 200, response.content
    assert _signed_in(response)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_ORIGIN": "http://testserver"},
        {"HTTP_REFERER": "http://testserver/api/docs/"},
        {"HTTP_ORIGIN": "https://testserver", "secure": True},
        {"HTTP_REFERER": "https://testserver/shop/", "secure": True},
    ],
    ids=lambda h: "|".join(f"{k}={v}" for k, v in h.items()),
)
def test_our_own_pages_sign_in(customer, headers):
    response = _json_login(customer, **headers)
    assert response.status_code == 200, response.content
    assert _signed_in(response)


@pytest.mark.parametrize(
    ("setting", "trusted", "origin"),
    [
        ("CSRF_TRUSTED_ORIGINS", ["https://app.example.com"], "https://app.example.com"),
        ("CSRF_TRUSTED_ORIGINS", ["https://*.example.com"], "https://tickets.example.com"),
        ("CORS_ALLOWED_ORIGINS", ["https://spa.example.org"], "https://spa.example.org"),
    ],
)
def test_trusted_origins_sign_in(customer, settings, setting, trusted, origin):
    setattr(settings, setting, trusted)
    response = _json_login(customer, HTTP_ORIGIN=origin)
    assert response.status_code == 200, response.content
    assert _signed_in(response)
    # the trust is for exactly that origin
    assert_error(_json_login(customer, HTTP_ORIGIN=origin.replace("https", "http")), 403)


def test_the_schema_says_login_takes_json_only():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    body = schema["paths"]["/api/v1/auth/login/"]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]

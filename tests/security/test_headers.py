"""Security headers, production transport settings, CORS and the request id."""

from __future__ import annotations

import json
import os
import re
import secrets
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.support.processes import manage_ok

from .helpers import BOOKINGS, LOGIN, ME

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


# --- Security headers on API responses ----------------------------------------------------------


def _responses(api, customer_api, showtime):  # type: ignore[no-untyped-def]
    return {
        "list": api.get("/api/v1/showtimes/"),
        "seat map (raw HttpResponse)": api.get(f"/api/v1/showtimes/{showtime.pk}/seats/"),
        "401": api.get(ME),
        "403": customer_api.get("/api/v1/users/"),
        "404 handler": api.get("/api/v1/no-such-thing/"),
        "405": customer_api.delete(ME),
        "webhook 400 (JsonResponse)": api.post(
            "/api/v1/payments/stripe/webhook/", data="{}", content_type="application/json"
        ),
        "health": api.get("/api/health/live"),
        "schema": api.get("/api/schema/"),
        "login": api.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json"),
    }


def test_api_responses_carry_the_security_headers(api, customer, customer_api, showtime):
    for name, response in _responses(api, customer_api, showtime).items():
        assert response.status_code < 500, name
        assert response["X-Content-Type-Options"] == "nosniff", name
        assert response["X-Frame-Options"] == "DENY", name
        assert response["Referrer-Policy"] == "same-origin", name
        assert response["Cross-Origin-Opener-Policy"] == "same-origin", name
        # no framework or server version leaks
        assert "Server" not in response or "Django" not in response["Server"], name
        assert "X-Powered-By" not in response, name


def test_json_errors_are_json_not_sniffable_html(api):
    response = api.get("/api/v1/<script>alert(1)</script>/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert b"<script>" not in response.content


def _production(code: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="api.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        CACHE_URL="locmem://",
        EMAIL_URL="smtp://x:25",
    )
    out = manage_ok("shell", "--no-imports", "-c", code, env=env)
    return json.loads(out.strip().splitlines()[-1])


PRODUCTION_PROBE = """
import json
from django.conf import settings as s
from django.http import HttpResponse
from django.test import Client
from boxoffice.accounts.cookies import set_auth_cookies

c = Client(SERVER_NAME="api.example.com")
plain = c.get("/api/health/live")
secure = c.get("/api/health/live", secure=True)
proxied = c.get("/api/health/live", HTTP_X_FORWARDED_PROTO="https")
csrf = c.get("/api/v1/auth/csrf/", secure=True)
r = HttpResponse()
set_auth_cookies(r, access="a", refresh="r")
cookie = lambda m, n: {k: m[n][k] for k in ("secure", "httponly", "samesite")}
print(json.dumps({
    "DEBUG": s.DEBUG,
    "HSTS": s.SECURE_HSTS_SECONDS,
    "HSTS_SUB": s.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    "SSL_REDIRECT": s.SECURE_SSL_REDIRECT,
    "SESSION_SECURE": s.SESSION_COOKIE_SECURE,
    "CSRF_SECURE": s.CSRF_COOKIE_SECURE,
    "JWT_SECURE": s.JWT_COOKIE_SECURE,
    "renderers": s.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure_sts": secure.get("Strict-Transport-Security", ""),
    "proxied": [proxied.status_code, proxied.get("Strict-Transport-Security", "")],
    "csrf_cookie": cookie(csrf.cookies, "csrftoken"),
    "access_cookie": cookie(r.cookies, "access_token"),
    "refresh_cookie": cookie(r.cookies, "refresh_token"),
    "nosniff": secure.get("X-Content-Type-Options"),
}))
"""


def test_production_mode_forces_https_and_secure_cookies(tmp_path):
    out = _production(PRODUCTION_PROBE, tmp_path)
    assert out["DEBUG"] is False
    assert out["HSTS"] >= 31536000
    assert out["HSTS_SUB"] is True
    assert out["SSL_REDIRECT"] is True
    assert out["SESSION_SECURE"]
    assert out["CSRF_SECURE"]
    assert out["JWT_SECURE"]
    assert not any("Browsable" in r for r in out["renderers"])
    # plain HTTP is redirected to HTTPS; HTTPS (directly or from the proxy) gets HSTS
    assert out["plain"][0] == 301
    assert out["plain"][1].startswith("https://api.example.com/")
    assert re.match(r"max-age=\d{8,}; includeSubDomains", out["secure_sts"]), out
    assert out["proxied"][0] == 200, out
    assert out["proxied"][1].startswith("max-age="), out
    assert out["csrf_cookie"]["secure"] is True
    for name in ("access_cookie", "refresh_cookie"):
        assert out[name] == {"secure": True, "httponly": True, "samesite": "Lax"}, out
    assert out["nosniff"] == "nosniff"


# --- CORS ---------------------------------------------------------------------------------------

APP = "https://app.example.com"
EVIL = "https://evil.example.com"


@pytest.fixture
def cors(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CORS_ALLOWED_ORIGINS = [APP]


def _preflight(api, origin: str, path: str = BOOKINGS):  # type: ignore[no-untyped-def]
    return api.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type, x-csrftoken, idempotency-key",
    )


def test_cors_preflight_from_the_allowed_origin(api, cors):
    response = _preflight(api, APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-csrftoken", "authorization", "idempotency-key"} <= allowed


def test_cors_get_from_the_allowed_origin_with_credentials(customer, cors):
    from tests.support.auth import browser_login

    client = browser_login(customer)
    response = client.get(ME, HTTP_ORIGIN=APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "origin" in response["Vary"].lower()
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "x-request-id"} <= exposed
    # errors reach the app too, so it can read them
    error = client.get("/api/v1/users/", HTTP_ORIGIN=APP)
    assert error.status_code == 403
    assert error["Access-Control-Allow-Origin"] == APP


@pytest.mark.parametrize(
    "origin",
    [EVIL, "null", "https://app.example.com.evil.com", "http://app.example.com", APP + ":8443"],
)
def test_cors_from_another_origin_gets_no_allow_origin(api, customer_api, cors, origin):
    for response in (_preflight(api, origin), customer_api.get(ME, HTTP_ORIGIN=origin)):
        assert "Access-Control-Allow-Origin" not in response
        assert "Access-Control-Allow-Credentials" not in response


def test_cors_is_off_without_configured_origins(api, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in _preflight(api, APP)
    assert "Access-Control-Allow-Origin" not in api.get("/api/v1/showtimes/", HTTP_ORIGIN=APP)


def test_cors_never_answers_with_a_wildcard(api, cors):
    for origin in (APP, EVIL):
        response = api.get("/api/v1/showtimes/", HTTP_ORIGIN=origin)
        assert response.get("Access-Control-Allow-Origin") != "*"


def test_cors_is_limited_to_the_api(client, cors):
    response = client.get("/admin/login/", HTTP_ORIGIN=APP)
    assert "Access-Control-Allow-Origin" not in response


# --- X-Request-ID -------------------------------------------------------------------------------


def test_request_id_is_echoed(api):
    response = api.get("/api/v1/showtimes/", HTTP_X_REQUEST_ID="lb-7f3a:42.x_y-z")
    assert response["X-Request-ID"] == "lb-7f3a:42.x_y-z"


def test_request_id_is_generated_when_absent(api):
    first = api.get("/api/v1/showtimes/")["X-Request-ID"]
    second = api.get("/api/v1/showtimes/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


@pytest.mark.parametrize(
    "hostile",
    [
        "abc\n",  # a trailing newline: "$" in a regex would let it through
        "abc\r\nSet-Cookie: x=1",
        "abc\nINFO forged log line",
        "x" * 1000,
        "x" * 129,
        "",
        "a b",
        "<script>",
        "id;rm -rf",
        "ünïcödé",
    ],
    ids=repr,
)
def test_a_hostile_request_id_is_replaced(api, hostile):
    response = api.get("/api/v1/showtimes/", HTTP_X_REQUEST_ID=hostile)
    assert response.status_code == 200
    rid = response["X-Request-ID"]
    assert rid != hostile
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    assert "Set-Cookie" not in response or "x=1" not in str(response.cookies)

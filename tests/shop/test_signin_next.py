"""Signing in or up sends the visitor back to ``next`` only when it is a page of this site: the
server checks it (``url_has_allowed_host_and_scheme``) and writes the checked target into the
form, and the page's script goes only there. Hostile ``next`` values end on our own home page,
over HTTP and in a real browser (Debian's chromium through Playwright)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from django.test import Client
from playwright.sync_api import expect

from tests.conftest import PASSWORD

# Each is the raw query string after ``next=``: what an attacker puts in a link.
HOSTILE = [
    "/%5Cevil.example/",  # /\evil.example/: browsers read the backslash as a slash
    "/%09/evil.example/",  # /<tab>/evil.example/: browsers drop the tab
    "/%0A/evil.example/",
    "/%0D/evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/%5C%5Cevil.example/",
    "%5C%5Cevil.example/",
    "%5C/evil.example/",
    "https://evil.example/",
    "http://evil.example/",
    "HTTPS://evil.example/",
    "https:evil.example/",
    "https:/evil.example/",
    "https:///evil.example/",
    "//evil.example@testserver/",
    "http://testserver@evil.example/",
    "%20//evil.example/",
    "%09//evil.example/",
    "%E3%80%80//evil.example/",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "",
]

GOOD = {
    "/bookings/": "/bookings/",
    "/shows/7/": "/shows/7/",
    "/bookings/%3Fbooking%3D3": "/bookings/?booking=3",
}


def _data_next(body: str) -> str:
    match = re.search(r'id="auth-form"[^>]*\sdata-next="([^"]*)"', body)
    assert match, body[:500]
    return html.unescape(match.group(1))


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/signin/", "/signup/"])
@pytest.mark.parametrize("raw", HOSTILE)
def test_a_hostile_next_is_replaced_by_the_home_page(page, raw):  # type: ignore[no-untyped-def]
    response = Client().get(f"{page}?next={raw}")
    assert response.status_code == 200
    body = response.content.decode()
    assert _data_next(body) == "/"
    assert "evil.example" not in body


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["/signin/", "/signup/"])
@pytest.mark.parametrize(("raw", "expected"), GOOD.items())
def test_a_page_of_ours_stays_the_next_page(page, raw, expected):  # type: ignore[no-untyped-def]
    body = Client().get(f"{page}?next={raw}").content.decode()
    assert _data_next(body) == expected
    # The link to the other form carries the checked target on.
    assert f"?next={quote(expected, safe='/')}" in body


@pytest.mark.django_db
def test_an_absolute_url_of_our_host_needs_https_outside_debug(settings):  # type: ignore[no-untyped-def]
    client = Client()
    settings.DEBUG = False
    assert (
        _data_next(client.get("/signin/?next=http://testserver/bookings/").content.decode()) == "/"
    )
    assert (
        _data_next(client.get("/signin/?next=https://testserver/bookings/").content.decode())
        == "https://testserver/bookings/"
    )
    settings.DEBUG = True
    assert (
        _data_next(client.get("/signin/?next=http://testserver/bookings/").content.decode())
        == "http://testserver/bookings/"
    )


# --- in the browser ---------------------------------------------------------------------------

BROWSER_HOSTILE = [
    "/%5Cevil.example/",
    "/%09/evil.example/",
    "//evil.example/",
    "https://evil.example/",
    "/\\evil.example/",  # typed as is: the browser sends the backslash in the query
]


def _catch_evil(page: Any) -> list[str]:
    """Answer any request to evil.example with a page of its own (no real network), and note
    it: the test then sees where the browser went."""
    visited: list[str] = []

    def answer(route: Any) -> None:
        visited.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>evil</title>evil")

    page.context.route(re.compile(r"^[a-z]+://([^/]*@)?evil\.example([:/]|$)"), answer)
    return visited


def _submit(page: Any, mode: str, username: str) -> None:
    page.get_by_label("Username").fill(username)
    if mode == "signup":
        page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up" if mode == "signup" else "Sign in").click()
    page.wait_for_url(lambda url: f"/{mode}/" not in url)
    page.wait_for_load_state()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["signin", "signup"])
@pytest.mark.parametrize("raw", BROWSER_HOSTILE)
def test_the_browser_stays_on_our_site_whatever_next_says(  # type: ignore[no-untyped-def]
    new_page, live_server, customer, mode, raw
):
    page = new_page()
    visited = _catch_evil(page)
    page.goto(f"/{mode}/?next={raw}")
    _submit(page, mode, customer.username if mode == "signin" else "mallory")
    ours = urlsplit(live_server.url)
    landed = urlsplit(page.url)
    assert (landed.scheme, landed.netloc) == (ours.scheme, ours.netloc), page.url
    assert landed.path == "/"
    assert visited == []
    # Signed in, on our home page.
    expect(page.get_by_role("button", name=re.compile("^Sign out"))).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", ["signin", "signup"])
def test_the_browser_goes_to_a_next_page_of_ours(new_page, live_server, customer, mode):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(f"/{mode}/?next=/bookings/")
    _submit(page, mode, customer.username if mode == "signin" else "mallory")
    assert page.url == f"{live_server.url}/bookings/"
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()

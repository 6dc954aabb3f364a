"""The account pages without a browser: they render with the shop's policy, the account page
is for signed-in visitors, and the reset link's page keeps its token out of caches and
Referer headers."""

from __future__ import annotations

import re

from django.test import Client

from .test_pages import signed_in


def test_account_pages_render_with_the_policy_and_no_inline_script(db, customer):  # type: ignore[no-untyped-def]
    for client, path in [
        (Client(), "/forgot/"),
        (Client(), "/reset/MQ/abc-123/"),
        (signed_in(customer), "/account/"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        script = re.search(r"script-src ([^;]+)", policy).group(1)
        assert "unsafe-inline" not in script
        html = response.content.decode()
        assert "<script>" not in html
        assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
        assert 'src="/static/shop/account.js"' in html


def test_the_sign_in_page_links_to_forgot_and_the_nav_to_the_account(db, customer):  # type: ignore[no-untyped-def]
    assert 'href="/forgot/"' in Client().get("/signin/").content.decode()
    assert 'href="/account/"' not in Client().get("/").content.decode()
    assert 'href="/account/"' in signed_in(customer).get("/").content.decode()


def test_the_account_page_shows_who_is_signed_in(db, customer):  # type: ignore[no-untyped-def]
    html = signed_in(customer).get("/account/").content.decode()
    assert "alice" in html
    assert "alice@example.com" in html


def test_the_account_page_sends_anonymous_visitors_to_sign_in(db):  # type: ignore[no-untyped-def]
    response = Client().get("/account/")
    assert response.status_code == 302
    assert response["Location"] == "/signin/?next=%2Faccount%2F"


def test_the_reset_page_is_not_cached_and_sends_no_referer(db):  # type: ignore[no-untyped-def]
    response = Client().get("/reset/MQ/abc-123/")
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert 'data-uid="MQ"' in html
    assert 'data-token="abc-123"' in html

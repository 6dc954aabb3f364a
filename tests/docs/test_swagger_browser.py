"""Swagger UI and ReDoc as a client developer meets them, in Chromium.

The README's walkthrough through Swagger UI's cookie path: sign in with "Try it out" on
``POST /api/v1/auth/login/`` (HttpOnly cookies), hold seats with ``POST /api/v1/bookings/`` and
cancel with ``POST /api/v1/bookings/{id}/cancel/``, all on the /api/docs/ page. The writes are
cookie-authenticated, so they must carry ``X-CSRFToken`` (Swagger sends ``credentials:
"include"``, which drf-spectacular's own interceptor leaves without it). Neither docs page may
load anything from outside the server (no CDN, no fonts, no logos): ReDoc's sidebar credit asks
for the Redocly logo from its CDN, which the page's Content-Security-Policy refuses inside the
browser, so nothing leaves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.catalog.models import Seat
from boxoffice.schedule.management.commands.seed_demo import DEMO_USERS
from boxoffice.schedule.models import Showtime

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_customer(db) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """The seed_demo command's customer login (published in the README)."""
    username, password, role = next(u for u in DEMO_USERS if u[0] == "customer")
    User.objects.create_user(
        username=username, email=f"{username}@example.com", password=password, role=role
    )
    return username, password


@pytest.fixture
def page(chromium, live_server) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    context = chromium.new_context(base_url=live_server.url, timezone_id="UTC")
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def operation(page, method: str, path: str):  # type: ignore[no-untyped-def]
    """An operation's panel on the Swagger page, opened and in "Try it out" mode."""
    block = page.locator(
        f".opblock.opblock-{method}:has(.opblock-summary-path[data-path='{path}'])"
    ).first
    block.scroll_into_view_if_needed()
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    return block


def execute(page, block, method: str, url_end: str) -> Any:  # type: ignore[no-untyped-def]
    """Click Execute and return the answer the browser got."""
    with page.expect_response(
        lambda r: r.request.method == method.upper() and r.url.endswith(url_end)
    ) as answer:
        block.locator("button.execute").click()
    return answer.value


def test_swagger_cookie_path_signs_in_holds_and_cancels(
    page, live_server, demo_customer, showtime: Showtime
):
    username, password = demo_customer
    seats = list(
        Seat.objects.filter(screen_id=showtime.screen_id)
        .order_by("row_index", "number")
        .values_list("id", flat=True)[:2]
    )
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock-summary-path[data-path='/api/v1/bookings/']")

    # Sign in: cookies (HttpOnly access and refresh, readable csrftoken).
    login = operation(page, "post", "/api/v1/auth/login/")
    login.locator("textarea.body-param__text").fill(
        json.dumps({"username": username, "password": password})
    )
    signed_in = execute(page, login, "post", "/api/v1/auth/login/")
    assert signed_in.status == 200, signed_in.text()
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["access_token"]["httpOnly"]
    csrf = cookies["csrftoken"]["value"]

    # Hold two seats: a cookie-authenticated write, with the CSRF header from the cookie.
    hold = operation(page, "post", "/api/v1/bookings/")
    hold.locator("textarea.body-param__text").fill(
        json.dumps({"showtime": showtime.pk, "seats": seats})
    )
    held = execute(page, hold, "post", "/api/v1/bookings/")
    assert held.status == 201, held.text()
    assert held.request.headers.get("x-csrftoken") == csrf
    assert "authorization" not in held.request.headers  # the cookie path, not Bearer
    booking = held.json()
    assert booking["status"] == "pending"
    assert booking["show"]["movie"] == showtime.movie.title

    # Cancel it, through the page again.
    cancel = operation(page, "post", "/api/v1/bookings/{id}/cancel/")
    cancel.locator("tr[data-param-name='id'] input").fill(str(booking["id"]))
    # The body is optional (every seat when absent); the page pre-fills the schema's example
    cancel.locator("textarea.body-param__text").fill("{}")
    cancelled = execute(page, cancel, "post", f"/api/v1/bookings/{booking['id']}/cancel/")
    assert cancelled.status == 200, cancelled.text()
    assert cancelled.json()["status"] == "cancelled"
    assert Booking.objects.get(pk=booking["id"]).status == BookingStatus.CANCELLED
    # The page shows the answer too.
    page.wait_for_selector(f".opblock:has(.live-responses-table) >> text={booking['id']}")


@pytest.mark.parametrize(
    ("path", "ready"),
    [("/api/docs/", ".opblock-summary-path"), ("/api/redoc/", "[data-section-id]")],
    ids=["swagger", "redoc"],
)
def test_docs_make_no_request_outside_the_server(page, live_server, path, ready):
    requests: list[str] = []
    refused: set[str] = set()  # by the page's Content-Security-Policy: never left the browser
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "requestfailed",
        lambda request: refused.add(request.url) if request.failure == "csp" else None,
    )
    page.goto(path)
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")

    assert any(url.startswith(f"{live_server.url}/api/schema/") for url in requests), requests
    outside = [
        url
        for url in requests
        if not url.startswith((f"{live_server.url}/", "data:", "blob:", "about:"))
        and url not in refused
    ]
    assert outside == []

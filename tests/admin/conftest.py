"""Fixtures for the admin site: a superuser, booked shows, and a Chromium driven by Playwright.

The browser tests use Debian's ``chromium`` (never a browser downloaded by Playwright). Where it
is missing they are skipped, saying why; under ``CI=true`` a missing browser is a failure, so CI
can never pass without having run them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from boxoffice.accounts.models import User
from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking
from boxoffice.catalog.models import Seat
from boxoffice.schedule.models import Showtime
from tests.conftest import PASSWORD, make_user

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def boss(db) -> User:  # type: ignore[no-untyped-def]
    return make_user("boss", is_staff=True, is_superuser=True)


@pytest.fixture
def boss_client(boss):  # type: ignore[no-untyped-def]
    from django.test import Client

    client = Client()
    client.force_login(boss)
    return client


def book(showtime: Showtime, user: User, *labels: str, paid: bool = True) -> Booking:
    """A hold on ``labels`` of ``showtime`` (default: the first free seat), paid unless told."""
    seats = Seat.objects.filter(screen_id=showtime.screen_id)
    if labels:
        seat_ids = [s.pk for s in seats if s.label in labels]
    else:
        taken = set(showtime.booking_seats.values_list("seat_id", flat=True))
        seat_ids = [next(s.pk for s in seats if s.pk not in taken)]
    booking = booking_services.create_hold(user=user, showtime=showtime, seat_ids=seat_ids)
    if paid:
        # The payment provider's "paid", as a webhook would record it.
        booking_services.record_payment(booking=booking, amount=booking.total)
        booking.refresh_from_db()
    return booking


def _chromium_problem() -> str | None:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    problem = _chromium_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run under CI: {problem}")
        pytest.skip(f"Browser tests need Chromium: {problem}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; Django's ORM would then refuse
    # the tests' own (synchronous) queries as if they came from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def admin_page(chromium, live_server, boss) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A page signed in to the admin as the superuser, through the real login form."""
    context = chromium.new_context(base_url=live_server.url, timezone_id="UTC")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", boss.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    try:
        yield page
    finally:
        context.close()

"""Fixtures for the admin site: a superuser, booked shows, and a Chromium driven by Playwright.

The browser tests use Debian's ``chromium`` (never a browser downloaded by Playwright). Where it
is missing they are skipped, saying why; under ``CI=true`` a missing browser is a failure, so CI
can never pass without having run them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from boxoffice.accounts.models import User
from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking
from boxoffice.catalog.models import Seat
from boxoffice.schedule.models import Showtime
from tests.conftest import PASSWORD, make_user


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

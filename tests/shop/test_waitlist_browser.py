"""The waitlist in a real browser (Debian's chromium through Playwright), by keyboard, at phone
and desktop widths, with axe-core: join on a sold-out show page, the entry in My bookings, the
offer's emailed link landing on checkout for that booking, and leaving."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import expect

from boxoffice.booking.models import Booking
from boxoffice.waitlist import services
from boxoffice.waitlist.models import WaitlistEntry
from tests.conftest import bearer

from .conftest import DESKTOP, PHONE, axe_violations, sign_in
from .test_browser import tab_to

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


def _no_axe_problems(page: Any, source: str) -> None:
    assert axe_violations(page, source) == []


def _press(page: Any, role: str, name: str | re.Pattern[str]) -> None:
    """Tab to the control and press Enter on it."""
    target = page.get_by_role(role, name=name)
    for _ in range(60):
        page.keyboard.press("Tab")
        if target.evaluate("(node) => node === document.activeElement"):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"Tab never reached the {role} {name!r}")


@WIDTHS
def test_join_on_a_sold_out_show_then_pay_the_offer_from_the_email_link(
    new_page, customer, showtime, axe_source, viewport
):  # type: ignore[no-untyped-def]
    from tests.waitlist.helpers import sell_out

    held = sell_out(showtime)
    page = new_page(viewport)
    sign_in(page, customer)
    page.goto(f"/shows/{showtime.pk}/")
    expect(page.get_by_role("heading", name="Sold out: join the waitlist")).to_be_visible()
    _no_axe_problems(page, axe_source)

    tab_to(page, "#waitlist-quantity")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("2")
    page.keyboard.press("Enter")
    status = page.locator("#waitlist-status")
    expect(status).to_contain_text("You are number 1 on the waitlist for 2 seats together")
    expect(status).to_be_focused()
    _no_axe_problems(page, axe_source)
    entry = WaitlistEntry.objects.get(user=customer)

    # My bookings lists the entry with its place and a Leave button.
    page.goto("/bookings/")
    expect(page.locator(f"#entry-{entry.pk} .state")).to_have_text("Waiting, number 1 in the queue")
    _no_axe_problems(page, axe_source)

    # Seats come free: the worker offers them, and the email's link lands on checkout.
    owner = Booking.objects.select_related("user").get(pk=held["D"])
    assert bearer(owner.user).post(f"/api/v1/bookings/{owner.pk}/cancel/").status_code == 200
    mail.outbox = []
    assert services.make_offers(showtime_id=showtime.pk) == 1
    entry.refresh_from_db()
    assert entry.status == "offered"
    from tests.support.tasks import run_worker

    run_worker()
    (message,) = [m for m in mail.outbox if m.to == [customer.email]]
    link = re.search(r"https?://\S+/checkout/\d+/", message.body)
    assert link, message.body
    assert link.group(0).endswith(f"/checkout/{entry.offer_id}/")
    page.goto(link.group(0))
    expect(page.locator("#offer-note")).to_contain_text("held for you from the waitlist")
    expect(page.get_by_role("button", name="Pay")).to_be_visible()
    _no_axe_problems(page, axe_source)

    page.goto("/bookings/")
    expect(page.get_by_role("link", name="Pay for the offered seats")).to_be_visible()
    _no_axe_problems(page, axe_source)


@WIDTHS
def test_leave_the_waitlist_from_my_bookings_by_keyboard(
    new_page, customer, showtime, axe_source, viewport
):  # type: ignore[no-untyped-def]
    from tests.waitlist.helpers import join, sell_out

    sell_out(showtime)
    assert join(bearer(customer), showtime, 3).status_code == 201
    page = new_page(viewport)
    sign_in(page, customer)
    page.goto("/bookings/")
    _press(page, "button", re.compile("Leave the waitlist for"))
    expect(page.get_by_role("status").first).to_have_text("You left the waitlist.")
    assert WaitlistEntry.objects.get(user=customer).status == "left"
    _no_axe_problems(page, axe_source)


def test_joining_while_seats_together_are_on_sale_says_so(new_page, customer, showtime, axe_source):  # type: ignore[no-untyped-def]
    page = new_page(PHONE)
    sign_in(page, customer)
    page.goto(f"/shows/{showtime.pk}/")
    tab_to(page, "#waitlist-quantity")
    page.keyboard.press("Enter")
    expect(page.locator("#waitlist-error")).to_contain_text("book them instead")
    expect(page.locator("#waitlist-quantity")).to_be_focused()
    _no_axe_problems(page, axe_source)
    assert not WaitlistEntry.objects.exists()

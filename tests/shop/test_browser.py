"""The shop in a real browser (Debian's chromium through Playwright), against the live server,
localstripe (its Stripe.js mock in the page), our webhook, the worker and a real SMTP server."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from boxoffice.booking.models import Booking, Ticket
from tests.conftest import PASSWORD, make_user
from tests.payments.conftest import booking_status
from tests.support.net import wait_for
from tests.support.tasks import run_worker

from .conftest import DESKTOP, PHONE, axe_violations, book, sign_in

# Both passes. Each test pays through localstripe, whose webhook, the worker and the pages'
# requests all run on the test server's threads: the SQLite pass's test database is a file
# (config/settings.py), so each thread has a connection of its own. (In memory, those threads
# shared the test's one connection, where their transactions interleaved: a webhook's savepoint
# rolled back on another thread's transaction; that is why these tests ran on PostgreSQL only.)
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = os.environ.get("SHOP_SCREENSHOTS")  # a folder: the README's pictures are taken


def seat(page: Any, label: str) -> Any:
    return page.get_by_role("button", name=re.compile(rf"^Seat {label},"))


def open_show(page: Any, showtime: Any) -> None:
    page.goto(f"/shows/{showtime.pk}/")
    expect(seat(page, "A1")).to_be_visible()


def hold(page: Any) -> int:
    page.get_by_role("button", name="Hold seats").click()
    page.wait_for_url(re.compile(r"/checkout/\d+/$"))
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def open_card_form(page: Any) -> None:
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_label("Card number")).to_be_visible()


def type_card(page: Any, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry month (MM)").fill("12")
    page.get_by_label("Expiry year (YY)").fill("34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Postal code").fill("10115")


def test_whole_purchase_sign_up_pick_hold_pay_tickets_and_receipt(
    new_page, showtime, stripe_webhook, smtp_server
):  # type: ignore[no-untyped-def]
    inbox, _ = smtp_server
    page = new_page()
    page.goto(f"/signup/?next=/shows/{showtime.pk}/")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Email").fill("carol@example.com")
    page.get_by_label("Password").fill("123")
    page.get_by_role("button", name="Sign up").click()
    # The API's validation message, next to its field.
    expect(page.locator("#password-error")).to_contain_text("too short")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(f"**/shows/{showtime.pk}/")

    seat(page, "C3").click()
    seat(page, "B4").click()
    expect(seat(page, "B4")).to_have_attribute("aria-label", "Seat B4, premium, $12.50, selected")
    expect(seat(page, "C2")).to_have_attribute("aria-label", "Seat C2, standard, $10.00, available")
    selection = page.locator("#selection")
    expect(selection).to_contain_text("10.00 \u00d7 1.25 premium")
    expect(selection).to_contain_text("Total for 2 seats")
    expect(selection).to_contain_text("$22.50")
    booking_id = hold(page)
    expect(page.locator("#countdown")).to_contain_text("held for")

    open_card_form(page)
    type_card(page, "4242424242424242")
    page.get_by_role("button", name="Confirm payment").click()
    page.wait_for_url(re.compile(r"/bookings/\?booking=\d+"), timeout=20_000)
    card = page.locator(f"#booking-{booking_id}")
    expect(card).to_contain_text("Confirmed")
    expect(page.get_by_role("img", name="QR code of the ticket for seat B4")).to_be_visible()
    expect(page.get_by_role("img", name="QR code of the ticket for seat C3")).to_be_visible()
    expect(card).to_contain_text("Cancel and refund $22.50")
    expect(card).to_contain_text("60 minutes before the show")
    assert booking_status(booking_id) == "confirmed"

    run_worker()
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["To"] == "carol@example.com"


def test_declined_card_then_a_good_one(new_page, showtime, customer, stripe_webhook):  # type: ignore[no-untyped-def]
    page = new_page()
    sign_in(page, customer)
    booking = book(showtime, customer, "D1", paid=False)
    page.goto(f"/checkout/{booking.pk}/")
    open_card_form(page)
    type_card(page, "4000000000000341")
    page.get_by_role("button", name="Confirm payment").click()
    expect(page.get_by_role("alert")).to_contain_text("Your card was declined")
    assert booking_status(booking.pk) == "pending"  # the hold runs on; retry is possible

    type_card(page, "4242424242424242")
    page.get_by_role("button", name="Confirm payment").click()
    page.wait_for_url(re.compile(r"/bookings/\?booking=\d+"), timeout=20_000)
    expect(page.locator(f"#booking-{booking.pk}")).to_contain_text("Confirmed")


# A race of two browsers.
def test_two_browsers_see_each_others_holds_and_race_for_one_seat(
    new_page, showtime, customer, other_customer
):  # type: ignore[no-untyped-def]
    first, second = new_page(), new_page()
    sign_in(first, customer)
    sign_in(second, other_customer)
    open_show(first, showtime)
    open_show(second, showtime)

    seat(first, "C1").click()
    hold(first)
    # The second browser learns it from the live seat map, without a reload, within 2 s.
    expect(seat(second, "C1")).to_have_attribute("aria-label", re.compile("held"), timeout=2_000)

    open_show(first, showtime)
    seat(first, "D3").click()
    seat(second, "D3").click()
    expect(second.get_by_role("button", name="Hold seats")).to_be_enabled()
    # Both ask at once (the second without waiting: its pick may already be gone live).
    first.get_by_role("button", name="Hold seats").click()
    second.evaluate("document.getElementById('hold').click()")
    wait_for(
        lambda: Booking.objects.filter(showtime=showtime, seats__seat__row="D").exists(),
        timeout=15,
    )
    winner = Booking.objects.get(showtime=showtime, seats__seat__row="D").user
    loser_page = second if winner == customer else first
    winner_page = first if winner == customer else second
    expect(winner_page).to_have_url(re.compile(r"/checkout/\d+/$"))
    expect(loser_page.locator("#hold-error")).to_contain_text(
        re.compile(r"D3.*(taken|got there first)")
    )
    loser = other_customer if winner == customer else customer
    assert not Booking.objects.filter(user=loser, seats__seat__row="D").exists()


def test_a_lapsing_hold_says_so_and_the_seats_come_back(new_page, showtime, customer, settings):  # type: ignore[no-untyped-def]
    settings.BOOKING_HOLD_SECONDS = 3
    page = new_page()
    sign_in(page, customer)
    open_show(page, showtime)
    seat(page, "C5").click()
    hold(page)
    expect(page.get_by_role("alert")).to_contain_text("Your hold has lapsed", timeout=30_000)
    expect(page.get_by_role("button", name="Pay", exact=True)).to_be_hidden()
    page.get_by_role("link", name="Back to the seat map").click()
    expect(seat(page, "C5")).to_have_attribute("aria-label", "Seat C5, standard, $10.00, available")


def tab_to(page: Any, selector: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_purchase(new_page, showtime, customer, stripe_webhook):  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(f"/signin/?next=/shows/{showtime.pk}/")
    tab_to(page, "#username")
    page.keyboard.type(customer.username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/shows/{showtime.pk}/")
    expect(seat(page, "A1")).to_be_visible()

    tab_to(page, "button.seat")  # one tab stop for the whole map; arrows move inside it
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    expect(seat(page, "C1")).to_have_attribute("aria-pressed", "true")
    expect(seat(page, "C2")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#announcer")).to_contain_text("Seat C2 selected. 2 seats, total $20.00")
    tab_to(page, "#hold")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/checkout/\d+/$"))

    tab_to(page, "#pay")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Card number")).to_be_focused()
    # The mock's fields move the focus on by themselves once each is complete.
    page.keyboard.type("4242424242424242")
    page.keyboard.type("12")
    page.keyboard.type("34")
    page.keyboard.type("123")
    page.keyboard.type("10115")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/bookings/\?booking=\d+"), timeout=20_000)
    expect(page.get_by_role("img", name="QR code of the ticket for seat C2")).to_be_visible()


def test_no_serious_accessibility_problems_on_any_page_at_both_widths(
    new_page, showtime, customer, axe_source
):  # type: ignore[no-untyped-def]
    admin = make_user("boss", role="admin", is_staff=True)
    paid = book(showtime, customer, "A1", "A2")
    pending = book(showtime, customer, "D5", paid=False)
    assert paid.status == "confirmed"
    local_date = showtime.starts_at.astimezone(
        __import__("zoneinfo").ZoneInfo(showtime.screen.theater.timezone)
    ).date()
    problems: dict[str, list] = {}
    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        anonymous, signed, staff = new_page(viewport), new_page(viewport), new_page(viewport)
        sign_in(signed, customer)
        sign_in(staff, admin)

        def check(page: Any, label: str, width: str = name) -> None:
            found = axe_violations(page, axe_source)
            if found:
                problems[f"{label}@{width}"] = found
            if SCREENSHOTS:
                Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
                page.screenshot(path=f"{SCREENSHOTS}/{label}-{width}.png", full_page=True)

        anonymous.goto(f"/?date={local_date.isoformat()}")
        check(anonymous, "home")
        anonymous.goto("/signup/")
        anonymous.get_by_role("button", name="Sign up").click()
        expect(anonymous.locator("#username-error")).not_to_be_empty()
        check(anonymous, "signup")
        anonymous.goto("/signin/")
        check(anonymous, "signin")
        open_show(signed, showtime)
        seat(signed, "B2").click()
        seat(signed, "C2").click()
        check(signed, "show")
        signed.goto(f"/checkout/{pending.pk}/")
        open_card_form(signed)
        check(signed, "checkout")
        signed.goto(f"/bookings/?booking={paid.pk}")
        expect(signed.get_by_role("img", name="QR code of the ticket for seat A1")).to_be_visible()
        check(signed, "bookings")
        staff.goto("/staff/checkin/")
        check(staff, "checkin")
    assert problems == {}, problems


def test_staff_check_in_admits_once_and_refuses_others(
    new_page, make_showtime, showtime, customer, admin_user
):  # type: ignore[no-untyped-def]
    tonight = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    here = book(tonight, customer, "B3")
    elsewhere = book(showtime, customer, "B3")
    code = Ticket.objects.get(booking_seat__booking=here).code
    other_code = Ticket.objects.get(booking_seat__booking=elsewhere).code

    customer_page = new_page()
    sign_in(customer_page, customer)
    response = customer_page.goto("/staff/checkin/")
    assert response.status == 403
    expect(customer_page.get_by_role("heading", name="Staff only")).to_be_visible()

    page = new_page()
    sign_in(page, admin_user)
    page.goto("/staff/checkin/")
    code_field = page.get_by_label("Ticket code")
    expect(code_field).to_be_focused()
    verdict = page.locator("#verdict")

    page.keyboard.type(code)
    page.keyboard.press("Enter")  # what a handheld scanner sends after the code
    expect(verdict).to_have_class(re.compile(r"\bok\b"))
    expect(verdict).to_contain_text("Admit · seat B3")
    expect(page.locator("#count")).to_contain_text("1 of 1 tickets admitted")

    code_field.fill(code)
    code_field.press("Enter")
    expect(verdict).to_have_class(re.compile(r"\bno\b"))
    expect(verdict).to_contain_text("Already used")

    code_field.fill(other_code)
    code_field.press("Enter")
    expect(verdict).to_contain_text("Wrong show")

    code_field.fill("NOT-A-TICKET")
    code_field.press("Enter")
    expect(verdict).to_contain_text("Unknown ticket")

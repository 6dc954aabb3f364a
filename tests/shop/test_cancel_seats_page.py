"""My bookings: cancel some seats (issue 17). The page offers a checkbox for exactly the seats
the API would cancel alone (``booking.selectors.cancellable_seats``), each with its refund; in
Chromium, by keyboard alone at 375 and 1280 px, the chosen seats' refunds add up, the API
cancels them, the page follows, and axe-core finds nothing serious or critical."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect

from boxoffice.booking import selectors, services
from boxoffice.booking.models import Booking, BookingSeat, Ticket
from boxoffice.core.errors import Conflict
from boxoffice.core.money import format_money

from .conftest import DESKTOP, PHONE, axe_violations, book, sign_in
from .test_booking_rules import _card, signed_in


class _Undo(Exception):
    pass


def _seat_cancel_accepted(booking: Booking, seat_id: int, by) -> bool:  # type: ignore[no-untyped-def]
    """What services.cancel_booking says of that one seat, without keeping the change."""
    try:
        with transaction.atomic():
            services.cancel_booking(booking=booking, by=by, seat_ids=[seat_id])
            raise _Undo
    except _Undo:
        return True
    except Conflict:
        return False


def _offered(card: str) -> list[str]:
    return re.findall(r'<input type="checkbox" name="seats" value="\d+" data-label="(\w+)"', card)


@pytest.mark.django_db
def test_the_page_offers_exactly_the_seats_the_api_cancels(make_showtime, customer, settings):  # type: ignore[no-untyped-def]
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 60
    doors_open = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    used = book(doors_open, customer, "A1", "A2", "A3")
    Ticket.objects.filter(booking_seat__booking=used, booking_seat__seat__number=1).update(
        checked_in_at=timezone.now()
    )
    other = book(doors_open, customer, "B1", "B2")
    single = book(doors_open, customer, "C1")
    holding = book(doors_open, customer, "D1", "D2", paid=False)
    html = signed_in(customer).get("/bookings/").content.decode()

    # A used ticket: the whole booking is not offered, its unused seats are, each with its price.
    card = _card(html, used)
    assert "Cancel and refund" not in card
    assert _offered(card) == ["A2", "A3"]
    price = BookingSeat.objects.get(booking=used, seat__number=2).price
    assert f"Seat A2 ({format_money(price, 'usd', 'en')} back)" in card
    assert _offered(_card(html, other)) == ["B1", "B2"]
    # A single seat, a hold: nothing to choose.
    assert _offered(_card(html, single)) == []
    assert _offered(_card(html, holding)) == []
    # Past the cut-off: nothing either.
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 24 * 60
    late_html = signed_in(customer).get("/bookings/").content.decode()
    assert _offered(_card(late_html, other)) == []
    # Each seat offered is one the service accepts, and each one not offered it refuses.
    for cutoff in (60, 24 * 60):
        settings.BOOKING_CANCEL_CUTOFF_MINUTES = cutoff
        _agree(used, customer)
        _agree(other, customer)


def _agree(booking: Booking, customer) -> None:  # type: ignore[no-untyped-def]
    """The selector's seats are exactly those the cancel service accepts alone."""
    listed = Booking.objects.prefetch_related("seats__seat", "seats__ticket").get(pk=booking.pk)
    offered = {
        row.seat_id for row in selectors.cancellable_seats(listed, by=customer, now=timezone.now())
    }
    for row in BookingSeat.objects.filter(booking=booking):
        accepted = _seat_cancel_accepted(booking, row.seat_id, customer)
        assert accepted is (row.seat_id in offered), (booking.pk, row.seat_id)


def _tab_to(page: Any, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_cancel_some_seats_by_keyboard(new_page, showtime, customer, axe_source, viewport):  # type: ignore[no-untyped-def]
    booking = book(showtime, customer, "B1", "B2", "B3")
    prices = {
        row.seat.label: row.price
        for row in BookingSeat.objects.filter(booking=booking).select_related("seat")
    }
    b2 = BookingSeat.objects.get(booking=booking, seat__number=2)
    page = new_page(viewport)
    sign_in(page, customer)
    page.goto("/bookings/")
    form = page.locator(f"#booking-{booking.pk} form.cancel-seats")
    expect(form.get_by_role("group", name="Cancel some seats")).to_be_visible()
    assert axe_violations(page, axe_source) == []
    submit = form.get_by_role("button", name="Cancel the chosen seats")
    expect(submit).to_be_disabled()

    _tab_to(page, 'input[data-label="B2"]')
    page.keyboard.press("Space")
    page.keyboard.press("Tab")  # B3
    page.keyboard.press("Space")
    expect(form.locator("output")).to_have_text(
        format_money(prices["B2"] + prices["B3"], "usd", "en")
    )
    page.keyboard.press("Space")  # B3 again: not after all
    expect(form.locator("output")).to_have_text(format_money(prices["B2"], "usd", "en"))
    expect(submit).to_be_enabled()
    page.once("dialog", lambda dialog: dialog.accept())
    _tab_to(page, "form.cancel-seats button[type=submit]")
    page.keyboard.press("Enter")

    expect(page.locator("#status")).to_contain_text(f"Seat(s) B2 of booking {booking.pk} cancelled")
    card = page.locator(f"#booking-{booking.pk}")
    expect(card.locator(".seats")).to_have_text("seats B1, B3")
    expect(card.get_by_role("img", name="QR code of the ticket for seat B2")).to_have_count(0)
    expect(card.get_by_role("img", name="QR code of the ticket for seat B1")).to_be_visible()
    expect(card.locator('input[data-label="B2"]')).to_have_count(0)
    assert axe_violations(page, axe_source) == []
    row = BookingSeat.objects.get(pk=b2.pk)
    assert row.cancelled_at is not None
    assert not row.is_live
    assert Booking.objects.get(pk=booking.pk).status == "confirmed"


# --- exchange from My bookings ----------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_exchange_for_cheaper_seats_by_keyboard(new_page, showtime, customer, axe_source, viewport):  # type: ignore[no-untyped-def]
    old = book(showtime, customer, "A1", "A2")  # VIP: 30.00
    page = new_page(viewport)
    sign_in(page, customer)
    page.goto("/bookings/")
    _tab_to(page, f'a[href="/shows/{showtime.pk}/?exchange={old.pk}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/shows/{showtime.pk}/?exchange={old.pk}")
    expect(page.locator(".notice.exchange")).to_contain_text(
        f"Exchanging booking {old.pk} (seats A1, A2): it is worth {format_money(Decimal(30), 'usd', 'en')}"
    )
    exchange_button = page.get_by_role("button", name="Exchange to these seats")
    expect(exchange_button).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Seat C1,"))).to_be_visible()
    assert axe_violations(page, axe_source) == []

    _tab_to(page, "button.seat")  # one tab stop for the map; arrows move inside it
    for _ in range(8):
        if (
            page.evaluate(
                "() => document.activeElement.getAttribute('aria-label') || ''"
            ).startswith("Seat C1,")
            or page.evaluate("() => document.activeElement.textContent").strip() == "C1"
        ):
            break
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    selection = page.locator("#selection")
    expect(selection).to_contain_text("Credit from booking")
    expect(selection.locator(".due")).to_have_text(format_money(Decimal(20), "usd", "en"))
    expect(selection).to_contain_text("Refunded to your card")
    assert axe_violations(page, axe_source) == []
    _tab_to(page, "#hold")
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/bookings/\?booking=\d+"))
    new_id = int(page.url.rsplit("=", 1)[1])
    new = Booking.objects.get(pk=new_id)
    assert (new.status, new.exchange_of_id) == ("confirmed", old.pk)
    assert Booking.objects.get(pk=old.pk).status == "exchanged"
    expect(page.locator(f"#booking-{old.pk} .state")).to_have_text("Exchanged")
    (label,) = [row.seat.label for row in new.seats.select_related("seat")]
    assert label[0] in "CD"  # a standard seat: 10.00 of the 30.00 credit
    expect(page.get_by_role("img", name=f"QR code of the ticket for seat {label}")).to_be_visible()

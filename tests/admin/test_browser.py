"""The admin site as a cinema manager meets it, in Chromium: add a show, be refused an
overlapping one with a message naming the show in the way, cancel a show with a reason,
find its bookings, read bookings without being offered a Save button, and be told why a
booked show cannot be deleted.

Runs against pytest-django's live server (a real HTTP server on a transactional database),
signed in through the admin's own login form."""

from __future__ import annotations

import re
import zoneinfo
from datetime import timedelta

import pytest

from boxoffice.booking.models import BookingStatus
from boxoffice.schedule.models import Showtime, ShowtimeStatus
from tests.admin.conftest import book
from tests.conftest import future

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def choose(page, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Pick ``text`` in an autocomplete (select2) field, as a person does: open, type, pick."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-container--open .select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def fill_start(page, local) -> None:  # type: ignore[no-untyped-def]
    page.fill("#id_starts_at_0", local.strftime("%Y-%m-%d"))
    page.fill("#id_starts_at_1", local.strftime("%H:%M"))


def errors(page) -> str:  # type: ignore[no-untyped-def]
    """The errors the form shows once the refused page has loaded."""
    page.wait_for_selector(".errornote")
    page.wait_for_load_state()
    return " ".join(page.locator(".errornote, .errorlist").all_inner_texts())


def test_add_a_show_in_the_theatres_time(admin_page, movie, screen):
    local = future(days=10, hour=19)
    admin_page.goto("/admin/schedule/showtime/add/")
    choose(admin_page, "movie", "Metropolis")
    choose(admin_page, "screen", "Screen 1")
    fill_start(admin_page, local)
    admin_page.fill("#id_base_price", "11.50")
    admin_page.click("input[name=_save]")

    admin_page.wait_for_url("**/admin/schedule/showtime/")
    assert "was added successfully" in admin_page.locator(".messagelist").inner_text()
    show = Showtime.objects.get()
    assert show.starts_at == local
    assert show.ends_at == local + timedelta(minutes=120)
    row = admin_page.locator("#result_list tbody tr").first.inner_text()
    assert f"{local:%Y-%m-%d %H:%M}" in row
    assert "Europe/Berlin" in row


def test_an_overlapping_show_is_refused_naming_the_show_in_the_way(
    admin_page, make_showtime, movie, screen
):
    existing = make_showtime(starts_at=future(days=5, hour=19))
    admin_page.goto("/admin/schedule/showtime/add/")
    choose(admin_page, "movie", "Metropolis")
    choose(admin_page, "screen", "Screen 1")
    fill_start(admin_page, future(days=5, hour=20))
    admin_page.fill("#id_base_price", "10.00")
    admin_page.click("input[name=_save]")

    message = errors(admin_page)
    assert f"show {existing.pk}" in message
    assert "Metropolis" in message
    assert Showtime.objects.count() == 1


def test_moving_a_show_onto_another_is_refused(admin_page, make_showtime):
    early = make_showtime(starts_at=future(days=6, hour=14))
    late = make_showtime(starts_at=future(days=6, hour=19))
    admin_page.goto(f"/admin/schedule/showtime/{early.pk}/change/")
    assert admin_page.input_value("#id_starts_at_1").startswith("14:00")
    admin_page.fill("#id_starts_at_1", "19:30")
    admin_page.click("input[name=_save]")

    assert f"show {late.pk}" in errors(admin_page)
    early.refresh_from_db()
    assert early.starts_at == future(days=6, hour=14)


def test_cancel_a_show_with_a_reason(admin_page, showtime, customer):
    booking = book(showtime, customer)
    assert booking.status == BookingStatus.CONFIRMED
    admin_page.goto("/admin/schedule/showtime/")
    admin_page.check(f"input[name=_selected_action][value='{showtime.pk}']")
    admin_page.select_option("select[name=action]", label="Cancel show (refund everyone)")
    admin_page.click("button[name=index]")

    admin_page.wait_for_url(re.compile(r"/admin/schedule/showtime/cancel/"))
    assert "Metropolis" in admin_page.content()
    admin_page.fill("textarea[name=reason]", "The projector broke down")
    admin_page.click("input[type=submit]")

    admin_page.wait_for_url("**/admin/schedule/showtime/")
    assert "cancelled" in admin_page.locator(".messagelist").inner_text().lower()
    showtime.refresh_from_db()
    booking.refresh_from_db()
    assert showtime.status == ShowtimeStatus.CANCELLED
    assert booking.status == BookingStatus.CANCELLED


def test_from_a_show_to_its_read_only_bookings(admin_page, make_showtime, showtime, customer):
    booking = book(showtime, customer)
    book(make_showtime(starts_at=future(days=2)), customer)  # another show's: not listed
    admin_page.goto(f"/admin/schedule/showtime/{showtime.pk}/change/")
    admin_page.click("text=1 booking")

    admin_page.wait_for_url(re.compile(rf"/admin/booking/booking/\?showtime={showtime.pk}"))
    rows = admin_page.locator("#result_list tbody tr")
    assert rows.count() == 1
    rows.first.locator("a").first.click()

    admin_page.wait_for_url(re.compile(rf"/admin/booking/booking/{booking.pk}/change/"))
    assert admin_page.locator("input[name=_save]").count() == 0
    assert admin_page.locator("input[type=submit]").count() == 0
    assert admin_page.locator("input[type=text], select, textarea").count() == 0


def test_the_delete_page_says_bookings_protect_the_show(admin_page, showtime, customer):
    book(showtime, customer)
    admin_page.goto(f"/admin/schedule/showtime/{showtime.pk}/change/")
    admin_page.click("a.deletelink")

    admin_page.wait_for_url(f"**/admin/schedule/showtime/{showtime.pk}/delete/")
    assert "permission" not in admin_page.locator("#content").inner_text().lower()
    message = admin_page.locator(".messagelist").inner_text()
    assert "bookings" in message
    assert "Cancel show" in message
    assert Showtime.objects.filter(pk=showtime.pk).exists()

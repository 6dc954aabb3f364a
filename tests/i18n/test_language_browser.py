"""The language switch and the German shop in a real browser (Debian's chromium through
Playwright): reached and used by keyboard alone, at phone and desktop widths, with axe-core
finding nothing serious; ``<html lang>`` follows, the scripts speak German from the page's own
catalog (no inline script: the CSP would block one), and the account page changes the
language of the customer's emails."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from boxoffice.accounts.models import User
from tests.shop.conftest import DESKTOP, PHONE, axe_violations, sign_in
from tests.shop.test_browser import tab_to

# Both passes, like tests/shop/test_browser.py: the SQLite pass's database is a file.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


@pytest.fixture
def browser_page(chromium, live_server):  # type: ignore[no-untyped-def]
    """A page whose browser prefers ``locale`` (its Accept-Language)."""
    contexts = []

    def _new(viewport: dict[str, int], locale: str = "en-US") -> Any:
        context = chromium.new_context(
            base_url=live_server.url, viewport=viewport, locale=locale, timezone_id="UTC"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()


def _no_axe_problems(page: Any, source: str) -> None:
    assert axe_violations(page, source) == []


@WIDTHS
def test_switch_to_german_by_keyboard_and_back(browser_page, showtime, axe_source, viewport):  # type: ignore[no-untyped-def]
    page = browser_page(viewport)
    page.goto(f"/shows/{showtime.pk}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Pick your seats")).to_be_visible()
    _no_axe_problems(page, axe_source)

    tab_to(page, "#language-switch", limit=80)
    page.keyboard.press("ArrowDown")  # English -> Deutsch, the select stays closed
    expect(page.locator("#language-switch")).to_have_value("de")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Change language"
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(rf"/shows/{showtime.pk}/$"))  # back where the switch was used
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Wählen Sie Ihre Plätze")).to_be_visible()
    # The picker's words and money come from the page's JSON catalog.
    first = page.get_by_role("button", name=re.compile(r"^Platz C1, Standard, 10,00 \$, frei$"))
    expect(first).to_be_visible()
    first.click()
    expect(page.locator("#selection")).to_contain_text("Gesamt für 1 Platz")
    expect(page.locator("#selection")).to_contain_text("10,00 $")
    expect(page.locator("#announcer")).to_contain_text(
        "Platz C1 ausgewählt. 1 Platz, gesamt 10,00 $."
    )
    _no_axe_problems(page, axe_source)

    page.goto("/")
    expect(page.get_by_role("heading", name="Vorstellungen heute")).to_be_visible()
    tab_to(page, "#language-switch", limit=80)
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Shows today")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


@WIDTHS
def test_a_german_browser_gets_german_pages(browser_page, showtime, axe_source, viewport):  # type: ignore[no-untyped-def]
    page = browser_page(viewport, locale="de-DE")
    page.goto("/signin/")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    expect(page.locator("#language-switch")).to_have_value("de")
    # The API's details are English; the page says the codes it knows in German.
    tab_to(page, "#username")
    page.keyboard.press("Enter")
    expect(page.locator("#form-error")).to_contain_text(
        "Bitte korrigieren Sie die unten markierten Felder."
    )
    expect(page.locator("#username-error")).to_have_text("Dieses Feld ist erforderlich.")
    _no_axe_problems(page, axe_source)


@WIDTHS
def test_the_account_page_changes_the_language_of_the_emails(
    browser_page, customer, axe_source, viewport
):  # type: ignore[no-untyped-def]
    page = browser_page(viewport)
    sign_in(page, customer)
    page.goto("/account/")
    expect(page.get_by_role("heading", name="Language of your emails")).to_be_visible()
    _no_axe_problems(page, axe_source)
    tab_to(page, "#language")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Save the language"
    page.keyboard.press("Enter")

    # Saved through the API, and this browser's pages follow.
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#language-saved")).to_contain_text("Gespeichert.")
    assert User.objects.get(pk=customer.pk).language == "de"
    expect(page.locator("#language")).to_have_value("de")
    _no_axe_problems(page, axe_source)

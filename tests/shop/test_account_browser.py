"""Forgotten password, the emailed link and the account page in a real browser (Debian's
chromium through Playwright): the email comes from the worker over a real SMTP server, and the
browser follows its link. Every step by keyboard, at phone and desktop widths, with axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from boxoffice.accounts.models import User
from tests.conftest import PASSWORD
from tests.payments.conftest import run_worker

from .conftest import DESKTOP, PHONE, axe_violations, sign_in
from .test_browser import tab_to

# The PostgreSQL pass only, as every browser test of the shop (see test_browser.py's header):
# the worker and the pages' requests run on the test server's threads.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

NEW_PASSWORD = "a-brand-new-passphrase-42"
WIDTHS = pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])


def _no_axe_problems(page: Any, source: str) -> None:
    assert axe_violations(page, source) == []


def _link(message: Any) -> str:
    text = next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    found = re.search(r"https?://\S+/reset/[\w-]+/[\w-]+/", text)
    assert found, text
    return found.group(0)


def _press_link(page: Any, name: str) -> None:
    """Tab to the link named ``name`` and follow it with Enter."""
    link = page.get_by_role("link", name=name)
    for _ in range(40):
        page.keyboard.press("Tab")
        if link.evaluate("(node) => node === document.activeElement"):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"Tab never reached the link {name!r}")


@WIDTHS
def test_forgot_then_the_emailed_link_then_sign_in_with_the_new_password(
    new_page, customer, smtp_server, axe_source, viewport
):  # type: ignore[no-untyped-def]
    inbox, _ = smtp_server
    page = new_page(viewport)
    page.goto("/signin/")
    _press_link(page, "Forgot your password?")
    page.wait_for_url("**/forgot/")
    _no_axe_problems(page, axe_source)

    tab_to(page, "#email")
    page.keyboard.type("alice@example.com")
    page.keyboard.press("Enter")
    done = page.get_by_role("status")
    expect(done).to_contain_text("If an account exists for that address, we sent a link")
    expect(done).to_be_focused()
    _no_axe_problems(page, axe_source)

    run_worker()
    assert len(inbox.messages) == 1
    link = _link(inbox.messages[0])
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    _no_axe_problems(page, axe_source)

    tab_to(page, "#password")
    page.keyboard.type("123")
    page.keyboard.press("Enter")
    # The validators' messages, next to the field; the link still works.
    expect(page.locator("#password-error")).to_contain_text("too short")
    expect(page.get_by_label("New password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("New password")).to_be_focused()
    _no_axe_problems(page, axe_source)
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your password has been changed")
    assert User.objects.get(pk=customer.pk).check_password(NEW_PASSWORD)
    _no_axe_problems(page, axe_source)

    _press_link(page, "Sign in with the new password")
    page.wait_for_url("**/signin/")
    tab_to(page, "#username")
    page.keyboard.type(customer.username)
    page.keyboard.press("Tab")
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()

    # The link worked once: the server says so, and offers a new one.
    page.goto(link)
    tab_to(page, "#password")
    page.keyboard.type("yet-another-passphrase-7")
    page.keyboard.press("Enter")
    expect(page.locator("#form-error")).to_contain_text("invalid, used or expired")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    _no_axe_problems(page, axe_source)
    assert User.objects.get(pk=customer.pk).check_password(NEW_PASSWORD)


@WIDTHS
def test_the_account_page_changes_the_password_and_stays_signed_in(
    new_page, customer, axe_source, viewport
):  # type: ignore[no-untyped-def]
    page = new_page(viewport)
    sign_in(page, customer)
    page.goto("/")
    _press_link(page, "Account")
    page.wait_for_url("**/account/")
    expect(page.locator("#account-username")).to_have_text("alice")
    expect(page.locator("#account-email")).to_have_text("alice@example.com")
    _no_axe_problems(page, axe_source)

    tab_to(page, "#old_password")
    page.keyboard.type("not-my-password")
    page.keyboard.press("Tab")
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#old_password-error")).to_contain_text("incorrectly")
    expect(page.get_by_label("Current password")).to_be_focused()
    _no_axe_problems(page, axe_source)

    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#changed")).to_contain_text("Your password has been changed")
    assert User.objects.get(pk=customer.pk).check_password(NEW_PASSWORD)
    _no_axe_problems(page, axe_source)

    # Still signed in on the renewed cookies; the API agrees.
    page.reload()
    expect(page.locator("#account-username")).to_have_text("alice")
    assert page.request.get("/api/v1/auth/me/").json()["username"] == "alice"

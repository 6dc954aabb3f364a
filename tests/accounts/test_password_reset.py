"""Password reset by email and password change, black-box over HTTP: the reset email goes
through the real worker to a real SMTP server (aiosmtpd), and its link is what the tests use."""

from __future__ import annotations

import re
import time
from email.message import Message

import pytest
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from tests.conftest import PASSWORD, make_user
from tests.payments.conftest import run_worker

from .test_auth import LOGIN, ME, REFRESH, TOKEN, assert_error, browser_login, csrf_header

RESET = "/api/v1/auth/password-reset/"
CONFIRM = "/api/v1/auth/password-reset/confirm/"
CHANGE = "/api/v1/auth/password/"
NEW_PASSWORD = "a-brand-new-passphrase-42"
SEND_RESET = "boxoffice.notifications.password_reset.send_password_reset_email"

# The worker runs in this thread on the test's connection: rows must be committed for it.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_throttles():  # type: ignore[no-untyped-def]
    """Throttle counters live in the cache table, which a transactional test does not empty."""
    from django.core.cache import cache

    cache.clear()


def _pair(username: str = "alice", password: str = PASSWORD) -> dict[str, str]:
    response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def _text(message: Message) -> str:
    return next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


def _html(message: Message) -> str:
    return next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/html"
    )


LINK = re.compile(r"(https?://[^/\s]+)/reset/([A-Za-z0-9_-]+)/([0-9a-z]+-[0-9a-f]+)/")


def _ask_for_link(email: str, inbox) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """Ask for a reset email, run the worker, and return the (base, uid, token) of its link."""
    before = len(inbox.messages)
    assert APIClient().post(RESET, {"email": email}, format="json").status_code == 204
    run_worker()
    assert len(inbox.messages) == before + 1
    found = LINK.search(_text(inbox.messages[-1]))
    assert found, _text(inbox.messages[-1])
    return found.group(1), found.group(2), found.group(3)


def _confirm(uid: str, token: str, password: str = NEW_PASSWORD):  # type: ignore[no-untyped-def]
    return APIClient().post(
        CONFIRM, {"uid": uid, "token": token, "password": password}, format="json"
    )


def _password_is(username: str, password: str) -> bool:
    return User.objects.get(username=username).check_password(password)


# --- Asking for a link --------------------------------------------------------------------------


def test_known_and_unknown_addresses_both_get_204_and_only_the_account_gets_one_email(
    customer, smtp_server
):
    inbox, _ = smtp_server
    unknown = APIClient().post(RESET, {"email": "nobody@example.com"}, format="json")
    known = APIClient().post(RESET, {"email": "ALICE@example.com"}, format="json")
    assert (unknown.status_code, known.status_code) == (204, 204)
    assert unknown.content == known.content == b""
    # Both requests did the same thing: one task queued each.
    assert DBTaskResult.objects.filter(task_path=SEND_RESET).count() == 2

    run_worker()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "alice@example.com"
    assert "password" in message["Subject"].lower()
    text, html = _text(message), _html(message)
    found = LINK.search(text)
    assert found, text
    # The request's own host when PUBLIC_BASE_URL is unset (the test client's "testserver").
    assert found.group(1) == "http://testserver"
    assert found.group(0) in html
    run_worker()
    assert len(inbox.messages) == 1  # nothing left to send


def test_the_link_points_at_public_base_url_when_set(customer, smtp_server, settings):
    inbox, _ = smtp_server
    settings.PUBLIC_BASE_URL = "https://tickets.example.com"
    base, _, _ = _ask_for_link("alice@example.com", inbox)
    assert base == "https://tickets.example.com"


def test_a_disabled_account_gets_no_email(customer, smtp_server):
    inbox, _ = smtp_server
    User.objects.filter(pk=customer.pk).update(is_active=False)
    assert APIClient().post(RESET, {"email": "alice@example.com"}, format="json").status_code == 204
    run_worker()
    assert inbox.messages == []


@pytest.mark.parametrize("body", [{}, {"email": "not-an-address"}, {"email": ["a@b.c"]}])
def test_a_malformed_request_is_400_and_queues_nothing(db, body):
    assert_error(APIClient().post(RESET, body, format="json"), 400, attr="email")
    assert not DBTaskResult.objects.exists()


@pytest.fixture
def low_reset_rate(settings):  # type: ignore[no-untyped-def]
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {
        **rest["DEFAULT_THROTTLE_RATES"],
        "password_reset_ip": "3/hour",  # hour windows: a test never straddles one
        "password_reset_email": "3/hour",
    }
    settings.REST_FRAMEWORK = rest


def test_reset_requests_are_throttled_per_email_across_addresses(customer, low_reset_rate):
    for i in range(3):
        response = APIClient().post(
            RESET, {"email": "alice@example.com"}, format="json", REMOTE_ADDR=f"10.9.0.{i + 1}"
        )
        assert response.status_code == 204
    blocked = APIClient().post(
        RESET, {"email": " Alice@Example.com"}, format="json", REMOTE_ADDR="10.9.0.9"
    )
    assert_error(blocked, 429)
    assert 0 < int(blocked["Retry-After"]) <= 3600
    assert DBTaskResult.objects.filter(task_path=SEND_RESET).count() == 3
    # another address is unaffected
    other = APIClient().post(
        RESET, {"email": "bob@example.com"}, format="json", REMOTE_ADDR="10.9.0.10"
    )
    assert other.status_code == 204


def test_reset_requests_are_throttled_per_client_address(db, low_reset_rate):
    for i in range(3):
        response = APIClient().post(
            RESET, {"email": f"u{i}@example.com"}, format="json", REMOTE_ADDR="10.9.1.1"
        )
        assert response.status_code == 204
    blocked = APIClient().post(
        RESET, {"email": "u9@example.com"}, format="json", REMOTE_ADDR="10.9.1.1"
    )
    assert_error(blocked, 429)
    assert "Retry-After" in blocked
    assert DBTaskResult.objects.filter(task_path=SEND_RESET).count() == 3


# --- Using the link -----------------------------------------------------------------------------


def test_the_link_sets_the_password_once_and_signs_every_session_out(customer, smtp_server):
    inbox, _ = smtp_server
    before = _pair()
    assert _bearer(before["access"]).get(ME).status_code == 200
    _, uid, token = _ask_for_link("alice@example.com", inbox)

    assert _confirm(uid, token).status_code == 204
    assert _password_is("alice", NEW_PASSWORD)
    # Every token of the old password is refused: the refresh token and the access token.
    assert_error(APIClient().post(REFRESH, {"refresh": before["refresh"]}, format="json"), 401)
    assert_error(_bearer(before["access"]).get(ME), 401)
    # The new password signs in; the old one no longer does.
    assert _bearer(_pair(password=NEW_PASSWORD)["access"]).get(ME).status_code == 200
    wrong = APIClient().post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
    assert_error(wrong, 401)

    # The link works once.
    again = _confirm(uid, token, "yet-another-passphrase-7")
    body = assert_error(again, 400, attr="token")
    assert body["errors"][0]["code"] == "invalid_token"
    assert _password_is("alice", NEW_PASSWORD)


def test_an_expired_link_is_400_and_changes_nothing(customer, smtp_server, settings):
    inbox, _ = smtp_server
    settings.PASSWORD_RESET_TIMEOUT = 1
    _, uid, token = _ask_for_link("alice@example.com", inbox)
    time.sleep(2.1)  # Django's token counts whole seconds: 2 s past a 1 s lifetime
    body = assert_error(_confirm(uid, token), 400, attr="token")
    assert body["errors"][0]["code"] == "invalid_token"
    assert _password_is("alice", PASSWORD)


def test_a_weak_password_is_400_naming_it_and_the_link_still_works(customer, smtp_server):
    inbox, _ = smtp_server
    _, uid, token = _ask_for_link("alice@example.com", inbox)
    body = assert_error(_confirm(uid, token, "123"), 400, attr="password")
    codes = {e["code"] for e in body["errors"]}
    assert {"password_too_short", "password_entirely_numeric"} <= codes
    assert _password_is("alice", PASSWORD)
    assert _confirm(uid, token).status_code == 204


def test_a_link_of_one_account_cannot_reset_another(customer, other_customer, smtp_server):
    inbox, _ = smtp_server
    _, _, alices_token = _ask_for_link("alice@example.com", inbox)
    _, bobs_uid, _ = _ask_for_link("bob@example.com", inbox)
    assert_error(_confirm(bobs_uid, alices_token), 400, attr="token")
    assert _password_is("bob", PASSWORD)


@pytest.mark.parametrize(
    "uid",
    [
        "",
        "!!!",
        "YWJj",  # base64 of "abc"
        "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5",  # a number beyond any id
        "LTE",  # "-1"
        "MA",  # "0"
        "Nzc3Nzc",  # 77777: nobody
        "_w",  # not UTF-8
    ],
)
def test_a_bad_uid_or_token_is_400_on_token_and_changes_nothing(customer, uid):
    response = _confirm(uid, "abc-123")
    if uid == "":
        assert_error(response, 400, attr="uid")  # a required field left blank
    else:
        body = assert_error(response, 400, attr="token")
        assert body["errors"][0]["code"] == "invalid_token"
    assert _password_is("alice", PASSWORD)


# --- Changing the password while signed in ------------------------------------------------------


def _change(client: APIClient, old: str, new: str, **extra):  # type: ignore[no-untyped-def]
    return client.post(CHANGE, {"old_password": old, "new_password": new}, format="json", **extra)


def test_a_bearer_client_changes_its_password_and_every_token_is_revoked(customer):
    pair = _pair()
    client = _bearer(pair["access"])
    response = _change(client, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 204, response.content
    assert "access_token" not in response.cookies  # a Bearer client asks /auth/token/ anew
    assert _password_is("alice", NEW_PASSWORD)
    assert_error(client.get(ME), 401)
    assert_error(APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401)
    assert _bearer(_pair(password=NEW_PASSWORD)["access"]).get(ME).status_code == 200


def test_a_wrong_old_password_is_400_on_old_password(customer):
    body = assert_error(
        _change(_bearer(_pair()["access"]), "not-my-password", NEW_PASSWORD), 400, "old_password"
    )
    assert body["errors"][0]["code"] == "password_incorrect"
    assert _password_is("alice", PASSWORD)


def test_a_weak_new_password_is_400_on_new_password(customer):
    client = _bearer(_pair()["access"])
    body = assert_error(_change(client, PASSWORD, "x7#Kq2"), 400, "new_password")
    assert "password_too_short" in {e["code"] for e in body["errors"]}
    body = assert_error(_change(client, PASSWORD, "alice@example.com"), 400, "new_password")
    assert "password_too_similar" in {e["code"] for e in body["errors"]}
    assert _password_is("alice", PASSWORD)
    assert client.get(ME).status_code == 200  # nothing was revoked


def test_changing_the_password_needs_a_signed_in_user(db):
    assert_error(_change(APIClient(), PASSWORD, NEW_PASSWORD), 401)


def test_a_cookie_client_needs_csrf_and_stays_signed_in_with_new_cookies(customer):
    browser = browser_login(customer)
    old_refresh = browser.cookies["refresh_token"].value
    old_access = browser.cookies["access_token"].value

    refused = _change(browser, PASSWORD, NEW_PASSWORD)  # no X-CSRFToken
    assert_error(refused, 403)
    assert _password_is("alice", PASSWORD)

    response = _change(browser, PASSWORD, NEW_PASSWORD, **csrf_header(browser))
    assert response.status_code == 204, response.content
    assert _password_is("alice", NEW_PASSWORD)
    new_access = response.cookies["access_token"]
    assert new_access.value not in ("", old_access)
    assert new_access["httponly"]
    assert response.cookies["refresh_token"].value not in ("", old_refresh)
    # This browser is still signed in, on the new cookies ...
    assert browser.get(ME).json()["username"] == "alice"
    assert browser.post(REFRESH, {}, format="json", **csrf_header(browser)).status_code == 200
    # ... and the tokens it held before are dead everywhere.
    assert_error(APIClient().post(REFRESH, {"refresh": old_refresh}, format="json"), 401)
    assert_error(_bearer(old_access).get(ME), 401)


def test_old_password_guesses_share_the_login_throttle_of_the_username(customer, settings):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "login_username": "3/hour"}
    settings.REST_FRAMEWORK = rest
    client = _bearer(_pair()["access"])  # the login spends one
    for i in range(2):
        assert _change(client, f"guess-{i}", NEW_PASSWORD).status_code == 400
    blocked = _change(client, PASSWORD, NEW_PASSWORD)
    assert_error(blocked, 429)
    assert "Retry-After" in blocked
    assert _password_is("alice", PASSWORD)
    # the login door of that name is closed too
    make_user("carol")
    assert_error(
        APIClient().post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json"), 429
    )

"""The Django admin site's sign-in is a second door to the same accounts (promoted admins are
staff): it is throttled like the API login, per username and per client address, with the same
THROTTLE_LOGIN rate and the same shared counters, so neither door adds to the other's budget.
Every attempt below is a real HTTP request through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.conftest import PASSWORD, make_user

from .helpers import LOGIN, assert_error

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def low_login_rates(settings):  # type: ignore[no-untyped-def]
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {
        **rest["DEFAULT_THROTTLE_RATES"],
        "login_ip": "3/hour",  # hour windows: a test never straddles one
        "login_username": "3/hour",
    }
    settings.REST_FRAMEWORK = rest


def _try(client: Client, username: str, password: str, addr: str = "10.9.0.1") -> Any:
    return client.post(
        ADMIN_LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=addr,
    )


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_password_guesser_is_stopped_before_the_26th_try(admin_user, settings):
    """The report: 25 wrong passwords answered 200 and the 26th, right, one signed in.
    THROTTLE_LOGIN's default count (10), in an hour window so the test cannot straddle one."""
    rest = {**settings.REST_FRAMEWORK}
    rates = {"login_ip": "10/hour", "login_username": "10/hour"}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], **rates}
    settings.REST_FRAMEWORK = rest
    client = Client()
    statuses = [_try(client, "root", f"guess-{i}").status_code for i in range(25)]
    assert statuses.count(200) == 10
    assert set(statuses[10:]) == {429}
    response = _try(client, "root", PASSWORD)
    assert response.status_code == 429
    assert not _signed_in(client)


def test_wrong_passwords_are_counted_per_username_across_addresses(admin_user, low_login_rates):
    client = Client()
    for i in range(3):
        response = _try(client, "root", "wrong-password!", addr=f"10.9.1.{i + 1}")
        assert response.status_code == 200  # the form again, with its error
        assert not _signed_in(client)
    response = _try(client, "ROOT", PASSWORD, addr="10.9.1.99")  # case does not matter
    assert response.status_code == 429
    assert not _signed_in(client)
    # another account is not affected
    make_user("ops", is_staff=True)
    assert _try(Client(), "ops", PASSWORD, addr="10.9.1.100").status_code == 302


def test_attempts_are_counted_per_address_across_usernames(db, low_login_rates):
    for name in ("s1", "s2", "s3"):
        make_user(name, is_staff=True)
        assert _try(Client(), name, PASSWORD, addr="10.9.2.1").status_code == 302
    make_user("s4", is_staff=True)
    client = Client()
    assert _try(client, "s4", PASSWORD, addr="10.9.2.1").status_code == 429
    assert not _signed_in(client)
    assert _try(client, "s4", PASSWORD, addr="10.9.2.2").status_code == 302
    assert _signed_in(client)


def test_the_throttled_page_says_why_and_when_to_retry(admin_user, low_login_rates):
    client = Client()
    for _ in range(3):
        _try(client, "root", "wrong-password!")
    response = _try(client, "root", PASSWORD)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("text/html")
    assert 0 < int(response["Retry-After"]) <= 3600
    page = response.content.decode()
    assert "Too many sign-in attempts" in page
    assert "try again" in page.lower()


def test_showing_the_form_costs_nothing(admin_user, low_login_rates):
    client = Client()
    for _ in range(5):
        assert client.get(ADMIN_LOGIN, REMOTE_ADDR="10.9.3.1").status_code == 200
    assert _try(client, "root", PASSWORD, addr="10.9.3.1").status_code == 302
    assert _signed_in(client)


def test_the_admin_and_the_api_share_one_budget(admin_user, api, low_login_rates):
    """Two tries at the API and one at the admin site: the next try at either door is refused."""
    for _ in range(2):
        wrong = {"username": "root", "password": "wrong-password!"}
        assert api.post(LOGIN, wrong, format="json", REMOTE_ADDR="10.9.4.1").status_code == 401
    assert _try(Client(), "root", "wrong-password!", addr="10.9.4.2").status_code == 200
    assert _try(Client(), "root", PASSWORD, addr="10.9.4.3").status_code == 429
    right = {"username": "root", "password": PASSWORD}
    assert_error(api.post(LOGIN, right, format="json", REMOTE_ADDR="10.9.4.4"), 429)


def test_the_admin_login_is_still_django_admins(admin_user):
    """Same page, same form, same redirect: only the throttle is added."""
    client = Client()
    page = client.get(ADMIN_LOGIN)
    assert page.status_code == 200
    assert b'name="username"' in page.content
    response = _try(client, "root", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

"""Sign-up, sign-in, cookies + CSRF, tokens, refresh rotation, logout and throttles."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts.models import Role, User
from boxoffice.catalog.models import Genre
from tests.conftest import PASSWORD, make_user
from tests.support.auth import browser_login, csrf_header

REGISTER = "/api/v1/auth/register/"
LOGIN = "/api/v1/auth/login/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
CSRF = "/api/v1/auth/csrf/"

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, attr: str | None = "__any__") -> dict:
    """The response is a JSON error of the standard shape; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
    if attr != "__any__":
        assert attr in [e["attr"] for e in body["errors"]], body
    return body


# --- Registration -------------------------------------------------------------------------------


def test_register_creates_a_customer(api):
    response = api.post(
        REGISTER,
        {"username": "carol", "email": "carol@example.com", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "username", "email", "role", "language"}
    assert body["username"] == "carol"
    assert body["email"] == "carol@example.com"
    assert body["role"] == "customer"
    user = User.objects.get(pk=body["id"])
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert not user.is_superuser
    # and the new account can sign in
    login = api.post(TOKEN, {"username": "carol", "password": PASSWORD}, format="json")
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("dave", "x7#Kq2"),  # too short
        ("dave", "password"),  # too common
        ("dave", "12345678901234"),  # entirely numeric
        ("jonathanwhitfield", "jonathanwhitfield1"),  # too similar to the username
    ],
    ids=["too-short", "common", "numeric", "similar-to-username"],
)
def test_register_applies_password_validators(api, username, password):
    response = api.post(
        REGISTER,
        {"username": username, "email": f"{username}@example.com", "password": password},
        format="json",
    )
    assert_error(response, 400, attr="password")
    assert not User.objects.filter(username=username).exists()


def test_register_password_similar_to_email_is_refused(api):
    response = api.post(
        REGISTER,
        {
            "username": "zed",
            "email": "margaretholloway@example.com",
            "password": "margaretholloway",
        },
        format="json",
    )
    assert_error(response, 400, attr="password")


@pytest.mark.parametrize(
    ("username", "email", "attr"),
    [
        ("alice", "new@example.com", "username"),
        ("ALICE", "new@example.com", "username"),  # case-insensitive
        ("newname", "alice@example.com", "email"),
        ("newname", "Alice@EXAMPLE.com", "email"),  # case-insensitive
    ],
)
def test_register_refuses_duplicates(api, customer, username, email, attr):
    response = api.post(
        REGISTER, {"username": username, "email": email, "password": PASSWORD}, format="json"
    )
    assert_error(response, 400, attr=attr)
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", ""), ("email", "not-an-email"), ("username", "has space"), ("password", "")],
)
def test_register_refuses_bad_fields(api, field, value):
    data = {"username": "erin", "email": "erin@example.com", "password": PASSWORD, field: value}
    assert_error(api.post(REGISTER, data, format="json"), 400, attr=field)


def test_register_ignores_mass_assignment_of_privileges(api):
    response = api.post(
        REGISTER,
        {
            "username": "mallory",
            "email": "mallory@example.com",
            "password": PASSWORD,
            "role": "admin",
            "is_staff": True,
            "is_superuser": True,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["role"] == "customer"
    user = User.objects.get(username="mallory")
    assert user.role == Role.CUSTOMER
    assert not user.is_staff
    assert not user.is_superuser
    # and the account cannot manage the catalog
    token = api.post(TOKEN, {"username": "mallory", "password": PASSWORD}, format="json")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert client.post("/api/v1/genres/", {"name": "X", "slug": "x"}).status_code == 403


# --- Login with cookies -------------------------------------------------------------------------


def test_login_sets_httponly_lax_jwt_cookies_and_csrf_cookie(api, customer):
    response = api.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user": {
            "id": customer.id,
            "username": "alice",
            "email": "alice@example.com",
            "role": "customer",
            "language": "en",
        }
    }
    for name in ("access_token", "refresh_token"):
        cookie = response.cookies[name]
        assert cookie.value
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
    assert response.cookies["csrftoken"].value
    # the token values are not exposed in the body
    assert response.cookies["access_token"].value not in response.content.decode()


def test_login_cookies_are_secure_when_configured(api, customer, settings):
    settings.JWT_COOKIE_SECURE = True
    response = api.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.cookies["access_token"]["secure"] is True
    assert response.cookies["refresh_token"]["secure"] is True


def test_csrf_endpoint_sets_the_cookie(api):
    response = api.get(CSRF)
    assert response.status_code == 204
    assert response.cookies["csrftoken"].value


def test_cookie_authenticated_get_needs_no_csrf_token(customer):
    client = browser_login(customer)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "id": customer.id,
        "username": "alice",
        "email": "alice@example.com",
        "role": "customer",
        "language": "en",
    }


def test_me_without_credentials_is_401(api):
    assert_error(api.get(ME), 401)


def test_me_with_a_garbage_bearer_token_is_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    assert_error(api.get(ME), 401)


def test_login_with_wrong_password_is_401_and_sets_no_cookie(api, customer):
    response = api.post(LOGIN, {"username": "alice", "password": "wrong-password!"}, format="json")
    assert_error(response, 401)
    assert "access_token" not in response.cookies
    unknown = api.post(LOGIN, {"username": "nobody", "password": PASSWORD}, format="json")
    assert_error(unknown, 401)


def test_login_of_inactive_user_is_refused(api):
    make_user("sleepy", is_active=False)
    response = api.post(LOGIN, {"username": "sleepy", "password": PASSWORD}, format="json")
    assert_error(response, 401)


def test_cookie_authenticated_write_without_csrf_token_is_403(admin_user):
    client = browser_login(admin_user)
    response = client.post("/api/v1/genres/", {"name": "Noir", "slug": "noir"}, format="json")
    body = assert_error(response, 403)
    assert "CSRF" in body["errors"][0]["detail"]
    assert not Genre.objects.filter(slug="noir").exists()


def test_cookie_authenticated_write_with_wrong_csrf_token_is_403(admin_user):
    client = browser_login(admin_user)
    response = client.post(
        "/api/v1/genres/",
        {"name": "Noir", "slug": "noir"},
        format="json",
        HTTP_X_CSRFTOKEN="x" * 32,
    )
    assert_error(response, 403)
    assert not Genre.objects.filter(slug="noir").exists()


def test_cookie_authenticated_write_with_matching_csrf_token_passes(admin_user):
    client = browser_login(admin_user)
    response = client.post(
        "/api/v1/genres/", {"name": "Noir", "slug": "noir"}, format="json", **csrf_header(client)
    )
    assert response.status_code == 201, response.content
    assert Genre.objects.filter(slug="noir").exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_every_unsafe_method_needs_csrf_with_cookies(admin_user, method):
    genre = Genre.objects.create(name="Noir", slug="noir")
    client = browser_login(admin_user)
    call = getattr(client, method)
    data = {"name": "Film noir", "slug": "film-noir"}
    refused = call(f"/api/v1/genres/{genre.id}/", data, format="json")
    assert_error(refused, 403)
    genre.refresh_from_db()
    assert genre.slug == "noir"
    allowed = call(f"/api/v1/genres/{genre.id}/", data, format="json", **csrf_header(client))
    if method == "delete":
        assert allowed.status_code == 204, allowed.content
        assert not Genre.objects.filter(pk=genre.pk).exists()
    else:
        assert allowed.status_code == 200, allowed.content
        genre.refresh_from_db()
        assert genre.slug == "film-noir"


def test_bearer_write_needs_no_csrf_token(admin_user):
    token = APIClient().post(TOKEN, {"username": "root", "password": PASSWORD}, format="json")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    response = client.post("/api/v1/genres/", {"name": "Noir", "slug": "noir"}, format="json")
    assert response.status_code == 201, response.content


# --- Tokens for API clients ---------------------------------------------------------------------


def test_token_returns_a_working_pair(api, customer):
    response = api.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert "access_token" not in response.cookies
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get(ME).json()["username"] == "alice"
    # a refresh token is not an access token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['refresh']}")
    assert_error(client.get(ME), 401)


def test_token_with_wrong_password_is_401(api, customer):
    assert_error(
        api.post(TOKEN, {"username": "alice", "password": "nope-nope"}, format="json"), 401
    )


def test_token_with_missing_fields_is_400(api):
    assert_error(api.post(TOKEN, {"username": "alice"}, format="json"), 400, attr="password")


def test_refresh_rotates_and_blacklists_the_old_token(api, customer):
    pair = api.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json").json()
    response = api.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    new = response.json()
    assert new["refresh"] != pair["refresh"]
    assert new["access"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access']}")
    assert client.get(ME).status_code == 200
    # the old refresh token is now refused
    assert_error(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401)
    # the new one still works, once
    assert api.post(REFRESH, {"refresh": new["refresh"]}, format="json").status_code == 200


def test_refresh_with_garbage_is_401(api):
    assert_error(api.post(REFRESH, {"refresh": "garbage"}, format="json"), 401)


def test_refresh_with_nothing_is_400(api):
    assert_error(api.post(REFRESH, {}, format="json"), 400)


def test_refresh_through_the_cookie_needs_csrf(customer):
    client = browser_login(customer)
    old_access = client.cookies["access_token"].value
    old_refresh = client.cookies["refresh_token"].value
    assert_error(client.post(REFRESH), 403)
    assert client.cookies["refresh_token"].value == old_refresh

    response = client.post(REFRESH, **csrf_header(client))
    assert response.status_code == 200, response.content
    assert response.cookies["access_token"].value not in ("", old_access)
    assert response.cookies["refresh_token"].value not in ("", old_refresh)
    assert response.cookies["access_token"]["httponly"] is True
    assert client.get(ME).status_code == 200
    # the refresh token the cookie used to hold is blacklisted
    assert_error(APIClient().post(REFRESH, {"refresh": old_refresh}, format="json"), 401)


def test_logout_blacklists_the_refresh_token_and_clears_cookies(customer):
    client = browser_login(customer)
    refresh = client.cookies["refresh_token"].value
    assert_error(client.post(LOGOUT), 403)  # cookie-authenticated: CSRF applies

    response = client.post(LOGOUT, **csrf_header(client))
    assert response.status_code == 204
    for name in ("access_token", "refresh_token"):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
    assert_error(client.get(ME), 401)
    assert_error(APIClient().post(REFRESH, {"refresh": refresh}, format="json"), 401)


def test_bearer_logout_blacklists_the_refresh_from_the_body(api, customer):
    pair = api.post(TOKEN, {"username": "alice", "password": PASSWORD}, format="json").json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert_error(api.post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401)


def test_logout_needs_a_signed_in_user(api):
    assert_error(api.post(LOGOUT), 401)


# --- Throttles ----------------------------------------------------------------------------------


@pytest.fixture
def low_login_rates(settings):
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {
        **rest["DEFAULT_THROTTLE_RATES"],
        "login_ip": "3/hour",  # hour windows: a test never straddles one
        "login_username": "3/hour",
    }
    settings.REST_FRAMEWORK = rest


def test_login_is_throttled_per_username_across_addresses(api, customer, low_login_rates):
    for i in range(3):
        response = api.post(
            LOGIN,
            {"username": "alice", "password": "wrong-password!"},
            format="json",
            REMOTE_ADDR=f"10.0.0.{i + 1}",
        )
        assert response.status_code == 401
    # a fourth try from yet another address, even with the right password
    response = api.post(
        LOGIN, {"username": "alice", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.9"
    )
    assert_error(response, 429)
    assert "access_token" not in response.cookies
    # the username is compared case-insensitively
    response = api.post(
        TOKEN, {"username": "ALICE", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.10"
    )
    assert_error(response, 429)
    # another account is unaffected
    make_user("bob")
    response = api.post(
        LOGIN, {"username": "bob", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.11"
    )
    assert response.status_code == 200


def test_login_is_throttled_per_address_across_usernames(api, low_login_rates):
    for name in ("u1", "u2", "u3"):
        make_user(name)
        response = api.post(
            LOGIN, {"username": name, "password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.1"
        )
        assert response.status_code == 200
    make_user("u4")
    blocked = api.post(
        LOGIN, {"username": "u4", "password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.1"
    )
    assert_error(blocked, 429)
    # token requests share the budget
    assert_error(
        api.post(
            TOKEN, {"username": "u4", "password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.1"
        ),
        429,
    )
    # another address is not affected
    other = api.post(
        LOGIN, {"username": "u4", "password": PASSWORD}, format="json", REMOTE_ADDR="10.1.1.2"
    )
    assert other.status_code == 200


def test_address_throttle_cannot_be_dodged_with_a_forged_forwarded_for(api, low_login_rates):
    """Without a configured proxy, X-Forwarded-For is the client's own claim: ignore it."""
    for i in range(3):
        make_user(f"v{i}")
        response = api.post(
            LOGIN,
            {"username": f"v{i}", "password": PASSWORD},
            format="json",
            REMOTE_ADDR="10.2.2.2",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i + 1}",
        )
        assert response.status_code == 200
    make_user("v9")
    response = api.post(
        LOGIN,
        {"username": "v9", "password": PASSWORD},
        format="json",
        REMOTE_ADDR="10.2.2.2",
        HTTP_X_FORWARDED_FOR="192.0.2.99",
    )
    assert_error(response, 429)


def test_throttled_response_says_when_to_retry(api, customer, low_login_rates):
    for _ in range(3):
        api.post(LOGIN, {"username": "alice", "password": "wrong-password!"}, format="json")
    response = api.post(LOGIN, {"username": "alice", "password": PASSWORD}, format="json")
    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0

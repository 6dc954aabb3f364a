"""Logout revokes the session's refresh token: from the body (API clients) or from the
refresh cookie (browsers). Afterwards that refresh token can no longer mint access tokens."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from tests.conftest import PASSWORD, make_user
from tests.support.auth import browser_login, csrf_header

from .test_auth import LOGOUT, REFRESH, TOKEN, assert_error

pytestmark = pytest.mark.django_db


def _pair(username: str = "alice") -> dict[str, str]:
    response = APIClient().post(TOKEN, {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_bearer_logout_without_a_refresh_token_is_400_naming_it(customer):
    pair = _pair()
    body = assert_error(_bearer(pair["access"]).post(LOGOUT, {}, format="json"), 400, "refresh")
    assert "refresh" in body["errors"][0]["detail"].lower()
    assert not BlacklistedToken.objects.exists()
    # nothing was revoked: the refresh token still works
    assert APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 200


def test_bearer_logout_with_no_body_at_all_is_400(customer):
    pair = _pair()
    assert_error(_bearer(pair["access"]).post(LOGOUT), 400, "refresh")


def test_bearer_logout_blacklists_the_refresh_token_from_the_body(customer):
    pair = _pair()
    response = _bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 204, response.content
    assert BlacklistedToken.objects.count() == 1
    refused = APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert_error(refused, 401)
    # logging out again with the same (now revoked) token is not an error: nothing is left
    again = _bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 204, again.content


@pytest.mark.parametrize("bad", ["not-a-token", "access"])
def test_bearer_logout_with_a_bad_refresh_token_is_400(customer, bad):
    pair = _pair()
    raw = pair["access"] if bad == "access" else bad
    assert_error(
        _bearer(pair["access"]).post(LOGOUT, {"refresh": raw}, format="json"), 400, "refresh"
    )
    assert not BlacklistedToken.objects.exists()


def test_logout_does_not_revoke_another_accounts_token(customer):
    make_user("bob")
    alice, bob = _pair("alice"), _pair("bob")
    response = _bearer(alice["access"]).post(LOGOUT, {"refresh": bob["refresh"]}, format="json")
    assert_error(response, 400, "refresh")
    assert APIClient().post(REFRESH, {"refresh": bob["refresh"]}, format="json").status_code == 200


def test_cookie_logout_revokes_the_refresh_cookie(customer):
    client = browser_login(customer)
    refresh = client.cookies["refresh_token"].value
    response = client.post(LOGOUT, **csrf_header(client))
    assert response.status_code == 204, response.content
    assert response.cookies["refresh_token"].value == ""
    assert_error(APIClient().post(REFRESH, {"refresh": refresh}, format="json"), 401)
    # and the browser's own refresh (the cookie, had it kept it) is refused as well
    browser = APIClient(enforce_csrf_checks=True)
    browser.cookies["refresh_token"] = refresh
    assert_error(browser.post(REFRESH, {"refresh": refresh}, format="json"), 401)


def test_cookie_logout_without_a_refresh_cookie_still_signs_out(customer):
    """A browser whose refresh cookie is gone has nothing to revoke; it is signed out anyway."""
    client = browser_login(customer)
    del client.cookies["refresh_token"]
    response = client.post(LOGOUT, **csrf_header(client))
    assert response.status_code == 204, response.content
    assert response.cookies["access_token"].value == ""


def test_the_schema_documents_the_logout_body_and_its_400(customer):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/auth/logout/"]["post"]
    assert "400" in operation["responses"]
    assert "204" in operation["responses"]
    body = operation["requestBody"]["content"]
    assert list(body) == ["application/json"]
    component = body["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    refresh = schema["components"]["schemas"][component]["properties"]["refresh"]
    assert "Bearer" in refresh["description"]
    assert "Bearer" in operation["description"]

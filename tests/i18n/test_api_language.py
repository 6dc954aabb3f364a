"""The API and languages: error details stay English and codes never change, whatever the
client prefers; a customer's language is stored at sign-up and changed with
``PATCH /api/v1/auth/me/``, and the schema says so."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"
ME = "/api/v1/auth/me/"
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9"}


def _register(client: APIClient, **extra: object):  # type: ignore[no-untyped-def]
    body = {"username": "zoe", "email": "zoe@example.com", "password": PASSWORD, **extra}
    return client.post(REGISTER, body, format="json", **GERMAN)


def test_a_german_client_gets_english_details_and_the_same_codes(db):  # type: ignore[no-untyped-def]
    client = APIClient()
    missing = client.post(REGISTER, {}, format="json", **GERMAN)
    assert missing.status_code == 400
    errors = {e["attr"]: e for e in missing.json()["errors"]}
    assert errors["username"] == {
        "code": "required",
        "detail": "This field is required.",
        "attr": "username",
    }
    weak = client.post(
        REGISTER,
        {"username": "zoe", "email": "zoe@example.com", "password": "48213957"},
        format="json",
        **GERMAN,
    )
    assert weak.status_code == 400, weak.content
    assert weak.json()["errors"] == [
        {"code": "invalid", "detail": "This password is entirely numeric.", "attr": "password"}
    ]
    unauthenticated = client.get(ME, **GERMAN)
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["errors"][0]["detail"].startswith("Authentication credentials")
    # The API does not vary by language: no Content-Language, no Vary on Accept-Language.
    assert "Accept-Language" not in unauthenticated.get("Vary", "")
    assert not unauthenticated.has_header("Content-Language")


def test_the_language_cookie_does_not_translate_the_api_either(db):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    response = client.post(REGISTER, {}, format="json")
    assert response.json()["errors"][0]["detail"] == "This field is required."


def test_sign_up_stores_the_requests_language_by_default(db):  # type: ignore[no-untyped-def]
    response = _register(APIClient())
    assert response.status_code == 201, response.content
    assert response.json()["language"] == "de"
    assert User.objects.get(username="zoe").language == "de"


def test_sign_up_prefers_the_switchs_cookie_to_accept_language(db):  # type: ignore[no-untyped-def]
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert _register(client).json()["language"] == "en"


def test_sign_up_takes_an_explicit_language_and_refuses_an_unknown_one(db):  # type: ignore[no-untyped-def]
    refused = _register(APIClient(), language="fr")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "invalid_choice"
    assert refused.json()["errors"][0]["attr"] == "language"
    assert not User.objects.exists()
    assert _register(APIClient(), language="en").json()["language"] == "en"


def test_an_unsupported_browser_language_signs_up_in_english(db):  # type: ignore[no-untyped-def]
    response = APIClient().post(
        REGISTER,
        {"username": "zoe", "email": "zoe@example.com", "password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9",
    )
    assert response.json()["language"] == "en"


def test_the_customer_changes_their_language(customer_api, customer):  # type: ignore[no-untyped-def]
    assert customer_api.get(ME).json()["language"] == "en"
    changed = customer_api.patch(ME, {"language": "de"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["language"] == "de"
    customer.refresh_from_db()
    assert customer.language == "de"
    refused = customer_api.patch(ME, {"language": "xx"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "code": "invalid_choice",
        "detail": '"xx" is not a valid choice.',
        "attr": "language",
    }
    customer.refresh_from_db()
    assert customer.language == "de"
    unchanged = customer_api.patch(ME, {}, format="json")  # PATCH: nothing sent, nothing changed
    assert unchanged.status_code == 200
    assert unchanged.json()["language"] == "de"


def test_changing_the_language_needs_a_signed_in_user_and_csrf_for_cookies(customer):  # type: ignore[no-untyped-def]
    assert APIClient().patch(ME, {"language": "de"}, format="json").status_code == 401
    browser = APIClient(enforce_csrf_checks=True)
    signed_in = browser.post(
        "/api/v1/auth/login/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    assert signed_in.status_code == 200
    refused = browser.patch(ME, {"language": "de"}, format="json")
    assert refused.status_code == 403
    customer.refresh_from_db()
    assert customer.language == "en"


def test_the_database_refuses_a_language_we_do_not_speak(customer):  # type: ignore[no-untyped-def]
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=customer.pk).update(language="fr")


def test_the_schema_documents_the_language_and_the_patch(api):  # type: ignore[no-untyped-def]
    schema = api.get("/api/schema/?format=json").json()
    me = schema["paths"]["/api/v1/auth/me/"]
    assert "patch" in me
    assert set(me["patch"]["responses"]) >= {"200", "400"}
    components = schema["components"]["schemas"]
    assert "language" in components["User"]["properties"]
    assert "language" in components["RegisterRequest"]["properties"]
    assert "language" not in components["RegisterRequest"].get("required", [])

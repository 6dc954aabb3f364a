"""The users list and promotion: admins only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts.models import Role, User
from tests.conftest import PASSWORD, bearer, make_user

pytestmark = pytest.mark.django_db


def test_admin_lists_users_paginated(admin_api, admin_user, customer, other_customer):
    response = admin_api.get("/api/v1/users/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {row["username"] for row in body["results"]} == {"root", "alice", "bob"}
    for row in body["results"]:
        assert set(row) == {"id", "username", "email", "role", "language"}
    assert "password" not in response.content.decode()


def test_admin_filters_users_by_role(admin_api, customer, other_customer):
    body = admin_api.get("/api/v1/users/?role=customer").json()
    assert {row["username"] for row in body["results"]} == {"alice", "bob"}


def test_customer_cannot_list_users(customer_api):
    response = customer_api.get("/api/v1/users/")
    assert response.status_code == 403
    assert response.json()["type"] == "client_error"


def test_anonymous_cannot_list_users(api, customer):
    assert api.get("/api/v1/users/").status_code == 401


def test_promote_makes_the_user_an_admin_who_can_then_write_the_catalog(admin_api, customer):
    before = bearer(customer)
    assert before.post("/api/v1/genres/", {"name": "Noir", "slug": "noir"}).status_code == 403

    response = admin_api.post(f"/api/v1/users/{customer.id}/promote/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "id": customer.id,
        "username": "alice",
        "email": "alice@example.com",
        "role": "admin",
        "language": "en",
    }
    customer.refresh_from_db()
    assert customer.role == Role.ADMIN
    assert customer.is_staff

    # the role is read on every request: the same token now has admin rights
    response = before.post("/api/v1/genres/", {"name": "Noir", "slug": "noir"}, format="json")
    assert response.status_code == 201, response.content
    # and so does a fresh sign-in
    pair = APIClient().post(
        "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.json()['access']}")
    assert client.get("/api/v1/users/").status_code == 200
    assert client.get("/api/v1/auth/me/").json()["role"] == "admin"


def test_promote_is_idempotent(admin_api, admin_user):
    response = admin_api.post(f"/api/v1/users/{admin_user.id}/promote/")
    assert response.status_code == 200
    assert response.json()["role"] == "admin"


def test_customer_cannot_promote(customer_api, customer, other_customer):
    assert customer_api.post(f"/api/v1/users/{customer.id}/promote/").status_code == 403
    assert customer_api.post(f"/api/v1/users/{other_customer.id}/promote/").status_code == 403
    assert set(User.objects.values_list("role", flat=True)) == {Role.CUSTOMER}


def test_anonymous_cannot_promote(api, customer):
    assert api.post(f"/api/v1/users/{customer.id}/promote/").status_code == 401
    customer.refresh_from_db()
    assert customer.role == Role.CUSTOMER


def test_promote_unknown_user_is_404(admin_api):
    response = admin_api.post("/api/v1/users/999999/promote/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_admin_reads_one_user(admin_api, customer):
    response = admin_api.get(f"/api/v1/users/{customer.id}/")
    assert response.status_code == 200
    assert response.json()["username"] == "alice"


def test_users_cannot_be_created_or_deleted_through_the_api(admin_api, customer):
    assert admin_api.post("/api/v1/users/", {"username": "x"}).status_code == 405
    assert admin_api.delete(f"/api/v1/users/{customer.id}/").status_code == 405
    assert User.objects.filter(pk=customer.pk).exists()


def test_superuser_without_admin_role_is_treated_as_admin(db):
    boss = make_user("boss", is_superuser=True, is_staff=True)
    assert bearer(boss).get("/api/v1/users/").status_code == 200


def test_the_database_refuses_a_second_user_differing_only_in_case(db):
    """The API's friendly check runs first; this is the guarantee behind it, which a racing
    sign-up would meet."""
    from django.core.exceptions import ValidationError

    from boxoffice.accounts.services import register_user

    register_user(username="alice", email="alice@example.com", password="a-long-pass-phrase-1")
    with pytest.raises(ValidationError):
        register_user(username="ALICE", email="other@example.com", password="a-long-pass-phrase-1")
    with pytest.raises(ValidationError):
        register_user(username="carol", email="Alice@Example.com", password="a-long-pass-phrase-1")
    assert User.objects.count() == 1

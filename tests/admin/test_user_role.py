"""The admin site's user form: the role decides ``is_staff`` (through accounts.services.set_role,
the door the API's promote uses too): making someone an admin lets them into the admin site,
making them a customer again shuts them out."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from boxoffice.accounts.models import Role, User
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def _change_url(user: User) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def _form(user: User, **changes: str) -> dict[str, str]:
    """The change form as the page posts it (every field of the user as it is), changed."""
    data = {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
    }
    if user.is_active:
        data["is_active"] = "on"
    if user.is_superuser:
        data["is_superuser"] = "on"
    if user.is_staff:  # the box an older form had ticked (now read-only, and ignored)
        data["is_staff"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _opens_the_admin_site(user: User) -> bool:
    client = Client()
    client.force_login(user)
    return client.get("/admin/").status_code == 200


def test_making_a_customer_an_admin_makes_them_staff(boss_client):
    carla = make_user("carla")
    assert not _opens_the_admin_site(carla)

    response = boss_client.post(_change_url(carla), _form(carla, role=Role.ADMIN))

    assert response.status_code == 302, response.content[:2000]
    carla.refresh_from_db()
    assert (carla.role, carla.is_staff) == (Role.ADMIN, True)
    assert _opens_the_admin_site(carla)


def test_making_an_admin_a_customer_removes_staff(boss_client):
    adam = make_user("adam", role=Role.ADMIN, is_staff=True)
    assert _opens_the_admin_site(adam)

    response = boss_client.post(_change_url(adam), _form(adam, role=Role.CUSTOMER))

    assert response.status_code == 302, response.content[:2000]
    adam.refresh_from_db()
    assert (adam.role, adam.is_staff) == (Role.CUSTOMER, False)
    assert not _opens_the_admin_site(adam)


def test_staff_cannot_be_ticked_apart_from_the_role(boss_client):
    carla = make_user("carla")
    response = boss_client.post(_change_url(carla), _form(carla, is_staff="on"))
    assert response.status_code == 302
    carla.refresh_from_db()
    assert (carla.role, carla.is_staff) == (Role.CUSTOMER, False)
    assert b'name="is_staff"' not in boss_client.get(_change_url(carla)).content


def test_a_superuser_with_the_customer_role_is_refused_and_nothing_changes(boss_client):
    adam = make_user("adam", role=Role.ADMIN, is_staff=True, is_superuser=True)
    response = boss_client.post(_change_url(adam), _form(adam, role=Role.CUSTOMER, email="x@y.z"))
    assert response.status_code == 200  # the form again, with the error
    assert b"A superuser is an admin" in response.content
    adam.refresh_from_db()
    assert (adam.role, adam.is_staff, adam.is_superuser, adam.email) == (
        Role.ADMIN,
        True,
        True,
        "adam@example.com",
    )

    response = boss_client.post(
        _change_url(adam), _form(adam, role=Role.CUSTOMER, is_superuser=None)
    )
    assert response.status_code == 302
    adam.refresh_from_db()
    assert (adam.role, adam.is_staff, adam.is_superuser) == (Role.CUSTOMER, False, False)


def test_the_api_promote_and_the_admin_site_agree(admin_api, boss_client):
    """Both doors give the same user: role admin, staff."""
    by_api, by_site = make_user("api"), make_user("site")
    assert admin_api.post(f"/api/v1/users/{by_api.pk}/promote/").status_code == 200
    assert (
        boss_client.post(_change_url(by_site), _form(by_site, role=Role.ADMIN)).status_code == 302
    )
    for user in (by_api, by_site):
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, False)

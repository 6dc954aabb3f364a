"""The Django admin: every registered model's pages load, with search, for a superuser."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Genre, Movie, Screen, Seat, Theater
from boxoffice.schedule.models import Showtime
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)
OURS = {
    "accounts.User",
    "catalog.Genre",
    "catalog.Movie",
    "catalog.Theater",
    "catalog.Screen",
    "catalog.Seat",
    "schedule.Showtime",
}
# Rows that only our services (or Django's own machinery) create: their admins refuse the add page.
NOT_ADDED_BY_HAND = {
    "booking.Booking",
    "catalog.Seat",
    "django_tasks_database.DBTaskResult",
    "notifications.EmailNotification",
    "payments.Refund",
    "payments.StripeEvent",
    "token_blacklist.OutstandingToken",
    "waitlist.WaitlistEntry",  # read only: entries change through the API and the worker
}


def test_every_model_of_ours_is_registered():
    assert {m._meta.label for m in MODELS} >= OURS


@pytest.fixture
def superuser_client(showtime, customer) -> Client:
    boss = make_user("boss", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    return client


def changelist(model) -> str:  # type: ignore[no-untyped-def]
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
@pytest.mark.parametrize("query", ["", "?q=a", "?q=Metropolis", "?q=%E2%9C%93"])
def test_changelist_and_search_load(superuser_client, model, query):
    response = superuser_client.get(changelist(model) + query)
    assert response.status_code == 200, response.content[:500]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_add_and_change_pages_load(superuser_client, model):
    meta = model._meta
    add = superuser_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    assert add.status_code == (403 if meta.label in NOT_ADDED_BY_HAND else 200)
    obj = model._default_manager.first()
    if obj is not None:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert superuser_client.get(url).status_code == 200


def test_search_finds_what_an_operator_would_look_for(superuser_client, showtime):
    def listed(model, query: str) -> bool:  # type: ignore[no-untyped-def]
        response = superuser_client.get(changelist(model) + query)
        return response.context["cl"].result_count > 0

    assert listed(Movie, "?q=metro")
    assert not listed(Movie, "?q=zzzz")
    assert listed(Theater, "?q=odeon")
    assert listed(Screen, "?q=odeon")  # by theater name
    assert listed(Showtime, "?q=metropolis")  # by movie title
    assert listed(Genre, "?q=drama")
    assert listed(Seat, "?q=Screen")
    assert listed(User, "?q=alice@example")


def test_filters_load(superuser_client, showtime):
    url = changelist(Showtime)
    assert superuser_client.get(f"{url}?status__exact=scheduled").status_code == 200
    assert (
        superuser_client.get(
            f"{url}?screen__theater__id__exact={showtime.screen.theater_id}"
        ).status_code
        == 200
    )
    assert superuser_client.get(f"{changelist(User)}?role__exact=customer").status_code == 200


def test_admin_needs_staff(customer):
    client = Client()
    client.force_login(customer)
    response = client.get(changelist(Movie))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]

"""A theatre has a currency: the default for its new shows (a Berlin theatre sells in eur),
read and written through the theaters API and the admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from boxoffice.catalog.models import Theater
from boxoffice.schedule.services import create_showtime
from tests.conftest import future

pytestmark = pytest.mark.django_db


def test_a_new_theatre_takes_the_default_currency(settings, db):
    theater = Theater.objects.create(name="Rex", timezone="Europe/Paris")
    assert theater.currency == settings.DEFAULT_CURRENCY


def test_new_shows_take_their_theatres_currency(movie, screen):
    Theater.objects.filter(pk=screen.theater_id).update(currency="eur")
    screen.refresh_from_db()
    show = create_showtime(
        movie=movie, screen=screen, starts_at=future(days=4), base_price=Decimal("9.00")
    )
    assert show.currency == "eur"
    other = create_showtime(
        movie=movie,
        screen=screen,
        starts_at=future(days=5),
        base_price=Decimal("9.00"),
        currency="GBP",
    )
    assert other.currency == "gbp"


@pytest.mark.parametrize("bad", ["EURO", "e1r", "", "€", "EUR", "xyz"])
def test_the_model_refuses_what_is_not_a_currency_code(theater, bad):
    theater.currency = bad
    with pytest.raises(ValidationError) as info:
        theater.full_clean()
    assert "currency" in info.value.message_dict


def test_the_api_reads_and_writes_the_currency(admin_api, api, theater):
    url = f"/api/v1/theaters/{theater.pk}/"
    body = api.get(url).json()
    assert body["currency"] == "usd"
    assert set(body) == {"id", "name", "address", "timezone", "currency"}
    changed = admin_api.patch(url, {"currency": "EUR"}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["currency"] == "eur"
    theater.refresh_from_db()
    assert theater.currency == "eur"
    created = admin_api.post(
        "/api/v1/theaters/", {"name": "Rex", "timezone": "Europe/Paris"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["currency"] == "usd"


def test_the_api_refuses_a_bad_currency(admin_api, theater):
    response = admin_api.patch(
        f"/api/v1/theaters/{theater.pk}/", {"currency": "euro"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "currency"


def test_the_admin_edits_a_theatres_currency(boss_client, theater):
    data = {
        "name": theater.name,
        "address": theater.address,
        "timezone": theater.timezone,
        "currency": "eur",
        "screens-TOTAL_FORMS": "0",
        "screens-INITIAL_FORMS": "0",
        "screens-MIN_NUM_FORMS": "0",
        "screens-MAX_NUM_FORMS": "1000",
    }
    response = boss_client.post(f"/admin/catalog/theater/{theater.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]
    theater.refresh_from_db()
    assert theater.currency == "eur"

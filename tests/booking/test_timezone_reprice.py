"""A theatre's new time zone moves its shows' local start times, and so their morning prices:
the seat map (cached, seatmap_cache) shows the new price at once, through the API and the admin
site; prices frozen on bookings stay as they were."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from rest_framework.test import APIClient

from boxoffice.schedule.models import Showtime
from tests.conftest import future, make_user

from .helpers import hold_labels, seat_map

pytestmark = pytest.mark.django_db

MORNING = {"vip": "12.00", "premium": "10.00", "standard": "8.00"}  # base 10.00 x 0.80
LATER = {"vip": "15.00", "premium": "12.50", "standard": "10.00"}


@pytest.fixture
def boss_client(db) -> Client:  # type: ignore[no-untyped-def]
    """Signed in to the admin site as a superuser."""
    client = Client()
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def prices(api: APIClient, showtime: Showtime) -> dict[str, str]:
    return {s["tier"]: s["price"] for s in seat_map(api, showtime)}


def _through_the_api(admin_api, boss_client, theater, zone: str) -> None:  # type: ignore[no-untyped-def]
    response = admin_api.patch(f"/api/v1/theaters/{theater.pk}/", {"timezone": zone}, format="json")
    assert response.status_code == 200, response.content


def _through_the_admin_site(admin_api, boss_client, theater, zone: str) -> None:  # type: ignore[no-untyped-def]
    data = {
        "name": theater.name,
        "address": theater.address,
        "timezone": zone,
        "currency": theater.currency,
        "screens-TOTAL_FORMS": "0",
        "screens-INITIAL_FORMS": "0",
        "screens-MIN_NUM_FORMS": "0",
        "screens-MAX_NUM_FORMS": "1000",
    }
    response = boss_client.post(f"/admin/catalog/theater/{theater.pk}/change/", data)
    assert response.status_code == 302, response.content[:2000]


@pytest.mark.parametrize(
    "change", [_through_the_api, _through_the_admin_site], ids=["api", "admin-site"]
)
def test_a_new_time_zone_reprices_the_seat_map(
    change: Callable[..., None], api, admin_api, boss_client, customer_api, theater, make_showtime
):
    show = make_showtime(starts_at=future(days=2, hour=10))  # 10:00 in Berlin: morning
    assert prices(api, show) == MORNING  # read, and cached
    held = hold_labels(customer_api, show, "C1")
    assert held.status_code == 201, held.content
    booking = held.json()
    assert booking["total"] == "8.00"
    assert prices(api, show) == MORNING  # cached again after the hold

    # 10:00 in Berlin is 17:00 or 18:00 in Tokyo: no longer morning on the theatre's clock.
    change(admin_api, boss_client, theater, "Asia/Tokyo")

    assert prices(api, show) == LATER
    again = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert again["total"] == "8.00"  # the price it was sold at
    assert [seat["price"] for seat in again["seats"]] == ["8.00"]

    # And back: morning again.
    change(admin_api, boss_client, theater, "Europe/Berlin")
    assert prices(api, show) == MORNING


def test_other_changes_do_not_redraw_the_maps(api, admin_api, theater, showtime):
    """Renaming a theatre leaves its shows' seat-change streams alone (no redraw event)."""
    version = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["version"]
    response = admin_api.patch(f"/api/v1/theaters/{theater.pk}/", {"name": "Rex"}, format="json")
    assert response.status_code == 200
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["version"] == version

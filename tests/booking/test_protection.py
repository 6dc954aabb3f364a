"""Bookings pin what they refer to: no grid rebuild, no delete, no moving a booked show."""

from __future__ import annotations

from datetime import timedelta

import pytest

from boxoffice.catalog.models import Movie, Screen, Seat
from boxoffice.schedule.models import Showtime

from .helpers import hold_labels, lapse

pytestmark = pytest.mark.django_db

GRID = {"rows": 2, "seats_per_row": 3, "tiers": {"vip": ["A"]}}


@pytest.fixture
def booked(customer_api, showtime):  # type: ignore[no-untyped-def]
    response = hold_labels(customer_api, showtime, "A1")
    assert response.status_code == 201
    return response.json()["id"]


def test_grid_rebuild_refused_once_a_show_has_bookings(admin_api, screen, booked):
    seats_before = list(Seat.objects.filter(screen=screen).values_list("pk", flat=True))

    response = admin_api.post(f"/api/v1/screens/{screen.pk}/seats/generate/", GRID, format="json")

    assert response.status_code == 409
    assert list(Seat.objects.filter(screen=screen).values_list("pk", flat=True)) == seats_before


def test_grid_rebuild_refused_even_when_the_booking_lapsed(admin_api, screen, booked):
    lapse(booked)
    response = admin_api.post(f"/api/v1/screens/{screen.pk}/seats/generate/", GRID, format="json")
    assert response.status_code == 409


def test_grid_rebuild_allowed_without_bookings(admin_api, screen, showtime):
    response = admin_api.post(f"/api/v1/screens/{screen.pk}/seats/generate/", GRID, format="json")
    assert response.status_code == 201
    assert Seat.objects.filter(screen=screen).count() == 6


@pytest.mark.parametrize("kind", ["showtimes", "screens", "movies"])
def test_delete_refused_with_bookings(admin_api, showtime, booked, kind):
    target = {"showtimes": showtime.pk, "screens": showtime.screen_id, "movies": showtime.movie_id}
    response = admin_api.delete(f"/api/v1/{kind}/{target[kind]}/")
    assert response.status_code == 409
    assert Showtime.objects.filter(pk=showtime.pk).exists()
    assert Screen.objects.filter(pk=showtime.screen_id).exists()
    assert Movie.objects.filter(pk=showtime.movie_id).exists()


def test_delete_allowed_without_bookings(admin_api, showtime):
    assert admin_api.delete(f"/api/v1/showtimes/{showtime.pk}/").status_code == 204


def test_moving_a_booked_show_is_409(admin_api, showtime, booked):
    original = showtime.starts_at
    later = (original + timedelta(hours=3)).isoformat()
    response = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"starts_at": later}, format="json"
    )
    assert response.status_code == 409
    assert Showtime.objects.get(pk=showtime.pk).starts_at == original


def test_moving_an_unbooked_show_is_allowed(admin_api, showtime):
    later = showtime.starts_at + timedelta(hours=3)
    response = admin_api.patch(
        f"/api/v1/showtimes/{showtime.pk}/", {"starts_at": later.isoformat()}, format="json"
    )
    assert response.status_code == 200
    assert Showtime.objects.get(pk=showtime.pk).starts_at == later

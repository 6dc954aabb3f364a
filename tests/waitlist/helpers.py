"""Helpers for the waitlist tests: a show sold out through the API, joining and reading the
waitlist as a client does."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from boxoffice.schedule.models import Showtime
from tests.booking.helpers import hold, seat_ids
from tests.conftest import bearer, make_user

WAITLIST = "/api/v1/waitlist/"
ROWS = "ABCD"


def join(client: APIClient, showtime: Showtime | int, quantity: Any) -> Any:
    showtime_id = showtime.pk if isinstance(showtime, Showtime) else showtime
    return client.post(
        f"/api/v1/showtimes/{showtime_id}/waitlist/", {"quantity": quantity}, format="json"
    )


def entries(client: APIClient) -> list[dict[str, Any]]:
    response = client.get(WAITLIST)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def sell_out(showtime: Showtime) -> dict[str, int]:
    """Every seat of the 4x5 screen held by other customers (a row each: the cap is 10):
    ``{row: booking id}``."""
    held = {}
    for row in ROWS:
        buyer = bearer(make_user(f"buyer{row.lower()}{showtime.pk}"))
        response = hold(buyer, showtime, seat_ids(showtime, *(f"{row}{n}" for n in range(1, 6))))
        assert response.status_code == 201, response.content
        held[row] = response.json()["id"]
    return held

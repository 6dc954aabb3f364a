"""Helpers shared by the security tests."""

from __future__ import annotations

from typing import Any

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking, BookingSeat

LOGIN = "/api/v1/auth/login/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/me/"
BOOKINGS = "/api/v1/bookings/"


def assert_error(response: Any, status: int) -> dict:
    """A JSON error of the standard shape with this status; returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}, body
    assert body["errors"], body
    return body


def booking_state(booking_id: int) -> dict[str, Any]:
    """Everything stored about a booking and its seats, to compare before and after."""
    booking = Booking.objects.filter(pk=booking_id).values().get()
    seats = list(BookingSeat.objects.filter(booking_id=booking_id).order_by("pk").values())
    return {"booking": booking, "seats": seats}


def user_state(user_id: int) -> dict[str, Any]:
    return User.objects.filter(pk=user_id).values().get()

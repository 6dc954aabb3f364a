"""Stripe unreachable when a customer books: a clear 503, and no hold that cannot be paid."""

from __future__ import annotations

import pytest

from boxoffice.booking.models import Booking
from boxoffice.payments import gateway

from .helpers import hold

pytestmark = pytest.mark.django_db(transaction=True)


def test_booking_while_stripe_is_unreachable_is_503_and_releases_the_seats(
    customer_api, showtime, localstripe, settings
):
    from tests.conftest import _free_port

    settings.STRIPE_API_BASE = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    gateway._client.cache_clear()
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()
    wanted = [s["id"] for s in seats[:2]]
    # drf-standardized-errors reports every 5xx through got_request_exception (for Sentry and
    # the like), which Django's test client turns back into an exception unless told not to.
    customer_api.raise_request_exception = False

    response = customer_api.post(
        "/api/v1/bookings/",
        {"showtime": showtime.id, "seats": wanted},
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert response.status_code == 503, response.content
    error = response.json()["errors"][0]
    assert error["code"] == "payments_unavailable"
    assert "no seats were held" in error["detail"]

    seats = customer_api.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()
    assert [s["status"] for s in seats[:2]] == ["available", "available"]
    assert not Booking.objects.filter(status="pending").exists()
    listed = customer_api.get("/api/v1/bookings/").json()["results"]
    assert all(b["payment"] is None for b in listed)  # nothing offered for payment

    # Stripe is back: the client's retry (same Idempotency-Key) acts, it is not a replay of
    # the 503, and gets the same seats.
    settings.STRIPE_API_BASE = localstripe
    retry = customer_api.post(
        "/api/v1/bookings/",
        {"showtime": showtime.id, "seats": wanted},
        format="json",
        HTTP_IDEMPOTENCY_KEY="checkout-1",
    )
    assert retry.status_code == 201, retry.content
    assert retry.json()["payment"]["client_secret"]
    assert "Idempotent-Replayed" not in retry.headers
    # And another customer is not blocked by the failed attempt either.
    assert hold(customer_api, showtime, n=1)["status"] == "pending"

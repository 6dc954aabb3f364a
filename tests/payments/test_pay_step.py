"""``POST /bookings/{id}/pay/``: a hold is paid in its own step. Only the owner may open the
payment, opening it twice gives the same PaymentIntent, and a hold that lapsed or a booking that
is no longer pending cannot be paid. Black-box over HTTP, with localstripe as Stripe."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from rest_framework.test import APIClient

from boxoffice.core.money import to_minor_units
from tests.support.stripe import AUTH as LOCALSTRIPE_AUTH
from tests.support.stripe import localstripe_list

from .helpers import (
    confirmed_booking,
    expire_hold,
    hold_only,
    intent_of,
    start_paying,
)

pytestmark = pytest.mark.django_db(transaction=True)


def intents_for(base: str, booking_id: int) -> set[str]:
    """The ids of every PaymentIntent localstripe holds for ``booking_id`` (by its metadata).
    Booking ids can be reused between tests, so callers compare before and after."""
    return {
        pi["id"]
        for pi in localstripe_list(base, "payment_intents")
        if (pi.get("metadata") or {}).get("booking_id") == str(booking_id)
    }


def codes(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["code"] for e in response.json()["errors"]]


def test_a_hold_opens_no_payment_and_pay_opens_exactly_one(
    customer_api, showtime, localstripe, settings
):
    before = intents_for(localstripe, 0)  # nothing is ever opened for booking 0
    booking = hold_only(customer_api, showtime)
    assert booking["payment"] is None
    opened_before = intents_for(localstripe, booking["id"])
    assert not intent_of(booking["id"])  # the hold did not call Stripe

    first = start_paying(customer_api, booking["id"])
    assert first.status_code == 200, first.content
    body = first.json()
    assert set(body) == {"provider", "client_secret", "publishable_key"}
    assert body["provider"] == "stripe"
    assert body["client_secret"].startswith(intent_of(booking["id"]))
    assert body["publishable_key"] == settings.STRIPE_PUBLISHABLE_KEY

    second = start_paying(customer_api, booking["id"])
    assert second.status_code == 200, second.content
    assert second.json() == body  # the same intent, not a second one

    new = intents_for(localstripe, booking["id"]) - opened_before
    assert new == {intent_of(booking["id"])}
    assert intents_for(localstripe, 0) == before

    # The booking shows the same payment from then on.
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "pending"
    assert detail["payment"] == body
    listed = customer_api.get("/api/v1/bookings/").json()["results"]
    assert [b["payment"] for b in listed if b["id"] == booking["id"]] == [body]

    # For the frozen total, in minor units, naming the booking.
    intent = requests.get(
        f"{localstripe}/v1/payment_intents/{intent_of(booking['id'])}",
        headers=LOCALSTRIPE_AUTH,
        timeout=5,
    ).json()
    assert intent["amount"] == to_minor_units(Decimal(booking["total"]), booking["currency"])
    assert intent["currency"] == booking["currency"]
    assert intent["metadata"]["booking_id"] == str(booking["id"])


def test_only_the_owner_can_pay(customer_api, other_customer, admin_api, showtime, localstripe):
    from tests.conftest import bearer

    booking = hold_only(customer_api, showtime)
    before = intents_for(localstripe, booking["id"])

    anonymous = APIClient().post(f"/api/v1/bookings/{booking['id']}/pay/")
    assert anonymous.status_code == 401
    other = start_paying(bearer(other_customer), booking["id"])
    assert other.status_code == 404
    assert codes(other) == ["not_found"]
    admin = start_paying(admin_api, booking["id"])  # an admin does not pay for a customer
    assert admin.status_code == 404
    unknown = start_paying(customer_api, booking["id"] + 10_000)
    assert unknown.status_code == 404

    # None of them opened a payment, and the other customer cannot read the booking either.
    assert intents_for(localstripe, booking["id"]) == before
    assert not intent_of(booking["id"])
    assert bearer(other_customer).get(f"/api/v1/bookings/{booking['id']}/").status_code == 404

    mine = start_paying(customer_api, booking["id"])
    assert mine.status_code == 200
    # Once it is open, the secret is still the owner's alone.
    assert start_paying(bearer(other_customer), booking["id"]).status_code == 404
    assert admin_api.get(f"/api/v1/bookings/{booking['id']}/").json()["payment"] is None


def test_pay_after_the_hold_lapsed_is_409_and_opens_nothing(customer_api, showtime, localstripe):
    booking = hold_only(customer_api, showtime)
    before = intents_for(localstripe, booking["id"])
    expire_hold(booking["id"])

    response = start_paying(customer_api, booking["id"])
    assert response.status_code == 409, response.content
    assert codes(response) == ["booking_expired"]
    assert intents_for(localstripe, booking["id"]) == before
    assert not intent_of(booking["id"])
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "expired"
    assert detail["payment"] is None


def test_an_open_payment_is_not_handed_out_once_the_hold_lapsed(customer_api, showtime):
    booking = hold_only(customer_api, showtime)
    assert start_paying(customer_api, booking["id"]).status_code == 200
    expire_hold(booking["id"])

    response = start_paying(customer_api, booking["id"])
    assert response.status_code == 409
    assert codes(response) == ["booking_expired"]
    assert customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()["payment"] is None


def test_a_cancelled_booking_cannot_be_paid(customer_api, showtime, localstripe):
    booking = hold_only(customer_api, showtime)
    before = intents_for(localstripe, booking["id"])
    assert customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/").status_code == 200

    response = start_paying(customer_api, booking["id"])
    assert response.status_code == 409, response.content
    assert codes(response) == ["not_payable"]
    assert intents_for(localstripe, booking["id"]) == before

    # Paying first and cancelling afterwards: the secret is no longer offered either.
    again = hold_only(customer_api, showtime)
    assert start_paying(customer_api, again["id"]).status_code == 200
    assert customer_api.post(f"/api/v1/bookings/{again['id']}/cancel/").status_code == 200
    assert start_paying(customer_api, again["id"]).status_code == 409
    assert customer_api.get(f"/api/v1/bookings/{again['id']}/").json()["payment"] is None


def test_a_confirmed_booking_has_nothing_to_pay(customer_api, showtime):
    booking = confirmed_booking(customer_api, showtime)
    response = start_paying(customer_api, booking["id"])
    assert response.status_code == 409
    assert codes(response) == ["not_payable"]


def test_a_hold_on_a_cancelled_show_cannot_be_paid(customer_api, admin_api, showtime):
    booking = hold_only(customer_api, showtime)
    cancelled = admin_api.post(
        f"/api/v1/showtimes/{showtime.id}/cancel/", {"reason": "projector broke"}, format="json"
    )
    assert cancelled.status_code == 200, cancelled.content

    response = start_paying(customer_api, booking["id"])
    assert response.status_code == 409
    assert customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()["payment"] is None


def test_pay_with_an_idempotency_key_replays(customer_api, showtime, localstripe):
    booking = hold_only(customer_api, showtime)
    before = intents_for(localstripe, booking["id"])
    url = f"/api/v1/bookings/{booking['id']}/pay/"
    first = customer_api.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    replay = customer_api.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == replay.status_code == 200
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert len(intents_for(localstripe, booking["id"]) - before) == 1

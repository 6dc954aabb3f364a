"""Helpers shared by the payment tests: holding seats through the API, paying through
localstripe, reading localstripe's own records, and signing events the way Stripe does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.payments import gateway, services
from tests.support.stripe import localstripe_list

WEBHOOK = "/api/v1/payments/stripe/webhook/"
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000341"  # attaches, then declined when charged
# localstripe accepts any secret key; Bearer auth is all its list endpoints need.


def hold_only(client, showtime, n=2, seat_ids=None):  # type: ignore[no-untyped-def]
    """Hold ``n`` available seats (or ``seat_ids``) through the API; returns the response body
    (``payment`` is null: a hold never waits on Stripe)."""
    if seat_ids is None:
        seats = client.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
        seat_ids = [s["id"] for s in seats if s["status"] == "available"][:n]
    response = client.post(
        "/api/v1/bookings/", {"showtime": showtime.id, "seats": seat_ids}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["payment"] is None
    return response.json()


def start_paying(client, booking_id: int):  # type: ignore[no-untyped-def]
    """``POST /bookings/{id}/pay/``: the customer proceeds to pay (opens the PaymentIntent)."""
    return client.post(f"/api/v1/bookings/{booking_id}/pay/")


def hold(client, showtime, n=2, seat_ids=None):  # type: ignore[no-untyped-def]
    """Hold seats and proceed to pay, as a shop does; returns the booking as read afterwards
    (with ``payment``: the client secret of its PaymentIntent)."""
    booking = hold_only(client, showtime, n, seat_ids)
    if booking["status"] == "pending":
        response = start_paying(client, booking["id"])
        assert response.status_code == 200, response.content
        assert response.json()["provider"] == "stripe"
    return client.get(f"/api/v1/bookings/{booking['id']}/").json()


def intent_of(booking_id: int) -> str:
    return Booking.objects.values_list("payment_intent_id", flat=True).get(pk=booking_id)


def pay(booking_id: int, card: str = GOOD_CARD) -> str:
    """Pay the booking's own PaymentIntent with a test card, as Stripe.js would."""
    return gateway.pay_with_test_card(intent_id=intent_of(booking_id), card=card)


def confirmed_booking(client, showtime, n=2) -> dict:  # type: ignore[no-untyped-def]
    """Hold, pay and settle (as the webhook would) without waiting for a delivery."""
    booking = hold(client, showtime, n)
    assert pay(booking["id"]) == "succeeded"
    assert services.settle_payment_intent(intent_of(booking["id"])).outcome in (
        "confirmed",
        "already_confirmed",  # a webhook registered by an earlier test may have won the race
    )
    return client.get(f"/api/v1/bookings/{booking['id']}/").json()


def expire_hold(booking_id: int, *, ago: timedelta = timedelta(minutes=1)) -> None:
    """Let the hold lapse, as if BOOKING_HOLD_SECONDS had passed (no sweeper needed)."""
    past = timezone.now() - ago
    Booking.objects.filter(pk=booking_id).update(expires_at=past)
    BookingSeat.objects.filter(booking_id=booking_id).update(hold_expires_at=past)


def localstripe_refunds(base: str, intent_id: str) -> list[dict]:
    return [r for r in localstripe_list(base, "refunds") if r["payment_intent"] == intent_id]


def localstripe_event(base: str, intent_id: str, type: str) -> dict:
    """The event localstripe emitted for ``intent_id`` (as it would deliver it)."""
    events = localstripe_list(base, "events", type=type)
    matches = [e for e in events if e["data"]["object"]["id"] == intent_id]
    assert len(matches) == 1, (intent_id, len(events))
    return matches[0]


def sign(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    """A ``Stripe-Signature`` header value, computed as Stripe (and localstripe) compute it."""
    ts = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(
        (secret or settings.STRIPE_WEBHOOK_SECRET).encode(),
        f"{ts}.{payload}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return f"t={ts},v1={mac}"


def post_event(client, payload: str, signature: str | None = None):  # type: ignore[no-untyped-def]
    return client.post(
        WEBHOOK,
        data=payload.encode(),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature if signature is not None else sign(payload),
    )


def dumps(event: dict) -> str:
    return json.dumps(event, indent=2, sort_keys=True)

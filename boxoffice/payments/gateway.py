"""The one module that talks to Stripe, through the official client.

- The base address is STRIPE_API_BASE when set (localstripe in development and tests).
- Every create carries an idempotency key derived from our own ids, so a retry after a timeout
  cannot charge or refund twice on real Stripe (localstripe ignores the header).
- Callers never hold database locks on seats while calling: these are network calls.
- Failures surface as :class:`GatewayUnavailable` (network, 5xx, auth) or stripe's own
  ``StripeError`` subclasses for requests Stripe refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache

import stripe
from django.conf import settings

log = logging.getLogger(__name__)


class GatewayUnavailable(Exception):
    """Stripe could not be reached or failed on its side; the call may be retried."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str
    amount: int
    currency: str
    client_secret: str
    booking_id: str | None


@cache
def _client(api_key: str, api_base: str, timeout: int) -> stripe.StripeClient:
    kwargs: dict = {
        "api_key": api_key,
        "max_network_retries": 2,
        "http_client": stripe.RequestsClient(timeout=timeout),
    }
    if api_base:
        kwargs["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(**kwargs)


def client() -> stripe.StripeClient:
    return _client(
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS
    )


def _intent(resource: stripe.PaymentIntent) -> Intent:
    obj = resource.to_dict()
    metadata = obj.get("metadata") or {}
    return Intent(
        id=obj["id"],
        status=obj["status"],
        amount=int(obj["amount"]),
        currency=str(obj["currency"]).lower(),
        client_secret=obj.get("client_secret") or "",
        booking_id=metadata.get("booking_id"),
    )


def _call(what: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.AuthenticationError, stripe.RateLimitError) as exc:
        log.warning("stripe %s failed: %s", what, type(exc).__name__)
        raise GatewayUnavailable(str(exc)) from exc
    except stripe.APIError as exc:  # Stripe's own 5xx
        log.warning("stripe %s failed: %s", what, type(exc).__name__)
        raise GatewayUnavailable(str(exc)) from exc


def create_payment_intent(*, booking_id: int, amount_minor: int, currency: str) -> Intent:
    params = {
        "amount": amount_minor,
        "currency": currency,
        "metadata": {"booking_id": str(booking_id)},
        "payment_method_types": ["card"],
    }
    # The amount is part of the key: a booking whose total changed (seats released before
    # its payment was attached) asks for a new intent, not the old one.
    options = {"idempotency_key": f"boxoffice-booking-{booking_id}-payment-intent-{amount_minor}"}
    obj = _call(
        "create_payment_intent", client().v1.payment_intents.create, params=params, options=options
    )
    return _intent(obj)


def retrieve_payment_intent(intent_id: str) -> Intent:
    return _intent(
        _call("retrieve_payment_intent", client().v1.payment_intents.retrieve, intent_id)
    )


def cancel_payment_intent(intent_id: str) -> None:
    """Close an unpaid PaymentIntent so the customer can no longer pay it."""
    _call("cancel_payment_intent", client().v1.payment_intents.cancel, intent_id)


def create_refund(*, booking_id: int, intent_id: str, amount_minor: int, reason: str) -> str:
    """Refund ``amount_minor`` of the intent; returns the refund id. The key names the booking
    and the reason, so each reason refunds at most once."""
    options = {"idempotency_key": f"boxoffice-booking-{booking_id}-refund-{reason}"}
    # localstripe accepts no `reason` parameter; ours travels in metadata instead.
    params = {
        "payment_intent": intent_id,
        "amount": amount_minor,
        "metadata": {"booking_id": str(booking_id), "reason": reason},
    }
    refund = _call("create_refund", client().v1.refunds.create, params=params, options=options)
    return str(refund.id)


def construct_event(payload: bytes, signature: str) -> dict:
    """Verify ``Stripe-Signature`` over the raw body and parse the event. Raises ValueError or
    stripe.SignatureVerificationError when it does not verify, and ValueError when the signed
    payload is not an event object (so the view answers 400, never 500)."""
    try:
        event = stripe.Webhook.construct_event(
            payload,
            signature,
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
        data = event.to_dict()
    except (AttributeError, TypeError, RecursionError) as exc:  # signed, but not an object
        raise ValueError("the payload is not a Stripe event") from exc
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        # Signed but not an event (no id or type): refused like a bad one, not a 500 later.
        raise ValueError("the payload is not a Stripe event")
    return data


def pay_with_test_card(*, intent_id: str, card: str) -> str:
    """Test mode only (pay_booking, tests): attach a card and confirm, as a browser would with
    Stripe.js. localstripe's confirm takes no payment_method, so it is set by an update first.
    Cards: 4242424242424242 pays; 4000000000000341 is declined when charged."""
    if not settings.STRIPE_SECRET_KEY.startswith("sk_test_"):
        raise RuntimeError("refusing to pay with a test card on live keys")
    stripe_client = client()
    method = stripe_client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    stripe_client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    try:
        intent = stripe_client.v1.payment_intents.confirm(intent_id)
    except stripe.CardError as exc:
        return f"declined ({exc.code})"
    if intent.status == "requires_payment_method":
        return "declined"
    return str(intent.status)

"""Development and tests only (localstripe): the door that pays a booking with a test card.

localstripe's Stripe.js mock cannot attach a card to a PaymentIntent (its ``confirmCardPayment``
only completes 3-D Secure), so the checkout script hands the typed test card here, and the
server attaches and confirms it as Stripe.js would. boxoffice/shop/urls.py routes it only when
``SHOP_DEV_ROUTES`` (DEBUG with a localstripe ``STRIPE_API_BASE``), and each request is still
refused (404) without the emulator's test keys: production never has this door."""

from __future__ import annotations

import urllib.request

from django.conf import settings
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking
from boxoffice.core.errors import InputError, NotFound
from boxoffice.payments import gateway

from .csp import is_stripe_emulator


class TestCardView(APIView):
    """``POST /checkout/<booking>/test-card/`` with ``{"number": "4242 4242 4242 4242"}``: pay
    the visitor's own booking's open PaymentIntent with that card. 200 ``{"status":
    "succeeded"}`` (or the intent's status), or ``{"status": "declined"}``; 400 for a number
    that is not 16 digits; 404 for a booking not theirs or without a payment, and with live
    keys (for anyone, signed in or not: the door answers nothing else there)."""

    permission_classes: list = []
    schema = None  # a page's helper, not part of the public API's schema

    def post(self, request: Request, booking_id: int) -> Response:
        if not is_stripe_emulator():
            raise NotFound()
        user = request.user if isinstance(request.user, User) else None
        booking = Booking.objects.filter(pk=booking_id, user=user).first() if user else None
        if booking is None or not booking.payment_intent_id:
            raise NotFound("No such booking of yours with a payment open.")
        data = request.data if isinstance(request.data, dict) else {}
        number = str(data.get("number", "")).replace(" ", "")
        if not number.isdigit() or len(number) != 16:
            raise InputError(
                "Your card number is incomplete.", field="number", code="incorrect_number"
            )
        _localstripe_allow_retry(booking.payment_intent_id)
        outcome = gateway.pay_with_test_card(intent_id=booking.payment_intent_id, card=number)
        return Response({"status": "declined" if outcome.startswith("declined") else outcome})


def _localstripe_allow_retry(intent_id: str) -> None:
    """Stripe lets a customer retry a declined intent with another card; localstripe keeps the
    failed charge as the intent's latest and refuses a second confirm. Forget that charge (its
    update takes any attribute, and JSON bodies), so the retry works as it would on Stripe."""
    base = settings.STRIPE_API_BASE.rstrip("/")
    request = urllib.request.Request(  # noqa: S310  (the emulator's own address, from settings)
        f"{base}/v1/payment_intents/{intent_id}",
        data=b'{"latest_charge": null}',
        headers={
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    intent = gateway.retrieve_payment_intent(intent_id)
    if intent.status == "requires_payment_method":
        with urllib.request.urlopen(request, timeout=settings.STRIPE_TIMEOUT_SECONDS):  # noqa: S310
            pass


urlpatterns = [
    path("checkout/<int:booking_id>/test-card/", TestCardView.as_view(), name="test-card"),
]

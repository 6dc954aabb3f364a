"""The pay step of a booking, and Stripe's webhook intake."""

from __future__ import annotations

import logging
from typing import cast

import stripe
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking
from boxoffice.core.errors import (
    BadRequest,
    NotFound,
)
from boxoffice.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from boxoffice.core.idempotency import idempotent
from boxoffice.core.openapi import (
    PAYMENT_REFUSED,
    PAYMENTS_UNAVAILABLE,
    ErrorDoc,
    conflict,
)

from . import gateway, services

log = logging.getLogger(__name__)


class PaymentStartSerializer(serializers.Serializer):
    provider = serializers.ChoiceField(choices=["stripe"])
    client_secret = serializers.CharField(help_text="Confirm the payment with Stripe.js.")
    publishable_key = serializers.CharField()


class BookingPayView(APIView):
    """``POST /bookings/{id}/pay/``: the customer proceeds to pay their hold."""

    openapi_tags = ["bookings"]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Pay a held booking: opens (or returns) its Stripe PaymentIntent",
        description=(
            "Opens the Stripe PaymentIntent for the booking's frozen total, or returns the one "
            "already open (idempotent). Confirm it with Stripe.js and the `client_secret`; the "
            "booking turns `confirmed` when Stripe tells us it succeeded. 409 once the hold has "
            "lapsed or the booking is no longer pending; 404 for anyone else's booking."
        ),
        request=None,
        responses={
            200: PaymentStartSerializer,
            409: conflict(
                "booking_expired",
                "not_payable",
                "showtime_cancelled",
                "payment_conflict",
                "total_changed",
            ),
            502: PAYMENT_REFUSED,
            503: PAYMENTS_UNAVAILABLE,
        },
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Retry-safe key: the same key and body replays the first response.",
            )
        ],
    )
    @idempotent
    def post(self, request: Request, pk: int) -> Response:
        # IsAuthenticated: request.user is a User here, never an AnonymousUser.
        booking = Booking.objects.filter(pk=pk, user=cast(User, request.user)).first()
        if booking is None:
            raise NotFound("No such booking.")
        start = services.start_payment(booking=booking)
        return Response(PaymentStartSerializer(start).data)


class InvalidSignature(BadRequest):
    default_detail = "The Stripe-Signature header does not verify."
    default_code = "invalid_signature"


class StripeWebhookView(APIView):
    """Stripe's event intake. The signature is checked over the raw body; a bad or missing one
    is a 400 that changes nothing. Each event acts once (the ledger); replays answer 200."""

    openapi_tags = ["payments"]
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # Stripe's deliveries are authenticated by their signature

    @extend_schema(
        summary="Stripe webhook (signed by Stripe; not for clients)",
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)
        ],
        responses={
            200: OpenApiResponse(description="Accepted (or a replay, acknowledged and ignored)."),
            400: OpenApiResponse(description="Missing or invalid signature; nothing changed."),
            503: ErrorDoc(
                PAYMENTS_UNAVAILABLE.codes,
                "Stripe or the database could not be reached; Stripe retries the delivery.",
                name="PaymentsUnavailable",
                retry_after=True,
            ),
        },
    )
    def post(self, request: Request) -> JsonResponse:
        signature = request.headers.get("Stripe-Signature", "")
        try:
            event = gateway.construct_event(request._request.body, signature)
        except (ValueError, stripe.SignatureVerificationError):
            raise InvalidSignature() from None
        try:
            result = services.handle_event(event)
        except gateway.GatewayUnavailable:
            # Not recorded: Stripe retries the delivery, and reconciliation catches it too.
            raise services.PaymentsUnavailable(
                "Could not verify the payment with Stripe; retry later."
            ) from None
        return JsonResponse({"received": True, "outcome": result.label})

"""Stripe webhook intake, and the booking endpoints that involve payment."""

from __future__ import annotations

import logging

import stripe
from django.http import JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from boxoffice.booking.api import (
    BookingSerializer,
    BookingViewSet,
    HoldRequestSerializer,
    idempotency_parameter,
)
from boxoffice.booking.models import Booking
from boxoffice.core.errors import ErrorResponse409Serializer
from boxoffice.schedule.models import Showtime

from . import gateway, services

log = logging.getLogger(__name__)


@extend_schema_view(
    create=extend_schema(
        summary="Hold seats (all or nothing) and start paying",
        request=HoldRequestSerializer,
        responses={
            201: BookingSerializer,
            409: ErrorResponse409Serializer,
            502: OpenApiResponse(description="Stripe refused the payment; no seats were held."),
            503: OpenApiResponse(description="Payments unavailable; no seats were held."),
        },
        parameters=[idempotency_parameter],
    )
)
class CheckoutBookingViewSet(BookingViewSet):
    """The booking endpoints with payment: creating a booking opens a Stripe PaymentIntent,
    cancelling a paid one refunds it."""

    def start_booking(self, *, user, showtime: Showtime, seat_ids: list[int]) -> Booking:  # type: ignore[no-untyped-def]
        return services.checkout(user=user, showtime=showtime, seat_ids=seat_ids)

    def after_cancel(self, booking: Booking) -> None:
        if booking.paid_amount <= 0:
            services.close_unpaid_intent(booking)
            return
        # The refund task is already queued with the cancellation; trying now as well means
        # the answer usually shows the money back. The task then finds nothing left to do.
        try:
            services.refund_booking(booking_id=booking.pk, reason=booking.cancel_reason)
        except (gateway.GatewayUnavailable, stripe.StripeError):
            log.warning("refund of booking %s deferred to the worker", booking.pk)


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
            503: OpenApiResponse(description="Stripe could not be reached to verify; retry."),
        },
    )
    def post(self, request: Request) -> JsonResponse:
        signature = request.headers.get("Stripe-Signature", "")
        try:
            event = gateway.construct_event(request._request.body, signature)
        except (ValueError, stripe.SignatureVerificationError):
            return JsonResponse(
                {
                    "type": "client_error",
                    "errors": [
                        {
                            "code": "invalid_signature",
                            "detail": "The Stripe-Signature header does not verify.",
                            "attr": None,
                        }
                    ],
                },
                status=400,
            )
        try:
            outcome = services.handle_event(event)
        except gateway.GatewayUnavailable:
            # Not recorded: Stripe retries the delivery, and reconciliation catches it too.
            return JsonResponse(
                {
                    "type": "server_error",
                    "errors": [
                        {
                            "code": "payments_unavailable",
                            "detail": "Could not verify the payment with Stripe; retry later.",
                            "attr": None,
                        }
                    ],
                },
                status=503,
            )
        return JsonResponse({"received": True, "outcome": outcome})

"""Holds and bookings: create (hold), list, read, cancel. Paying is the payment layer's
``POST /bookings/{id}/pay/`` (boxoffice.payments.api)."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Tier
from boxoffice.core.errors import Invalid
from boxoffice.core.filters import MAX_ID, IdFilter
from boxoffice.core.http_cache import PRIVATE, CacheHeadersMixin
from boxoffice.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from boxoffice.core.idempotency import idempotent
from boxoffice.core.openapi import DATABASE_UNAVAILABLE, conflict
from boxoffice.schedule.models import Showtime

from .. import selectors, services
from ..models import Booking, BookingQuerySet, BookingStatus
from .serializers import BookingSerializer

__all__ = ["BookingSerializer", "BookingViewSet"]


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "minItems": 1,
        "maxItems": settings.BOOKING_MAX_SEATS,
    }
)
class SeatIdsField(serializers.ListField):
    """Seat ids: the schema says 1 to BOOKING_MAX_SEATS; a request outside that range is still
    read, so that the hold service refuses it with its own 400 naming the limit."""


class HoldRequestSerializer(serializers.Serializer):
    """Either ``seats`` (named seats) or ``quantity`` (best available), exactly one."""

    showtime = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    seats = SeatIdsField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=True,
        max_length=1000,
        required=False,
        help_text="Seat ids of the show's screen, each once; 1 to BOOKING_MAX_SEATS (10). "
        "Instead of quantity.",
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=1000,
        required=False,
        help_text="Best available: hold the best N seats side by side in one row (no aisle "
        "between), closest to the screen's sweet spot; 1 to BOOKING_MAX_SEATS. Instead of "
        "seats. 409 no_adjacent_seats when no row has them.",
    )
    tier = serializers.ChoiceField(
        choices=Tier.choices, required=False, help_text="Best available: only seats of this tier."
    )
    allow_split = serializers.BooleanField(
        default=False,
        help_text="Best available: when no row has N together, accept the best split across "
        "two adjacent rows.",
    )
    accessible = serializers.BooleanField(
        default=False,
        help_text="Wheelchair spaces are held only with accessible: true (until "
        "ACCESSIBLE_RELEASE_MINUTES before the show). With quantity, the seats include one "
        "wheelchair space (and its companion seats first).",
    )

    def to_internal_value(self, data: Any) -> dict:
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            # Say that seats (or quantity) is missing too, not only the other fields' errors.
            neither = hasattr(data, "get") and data.get("seats") is data.get("quantity") is None
            if neither and isinstance(exc.detail, dict):
                exc.detail.setdefault("seats", [ErrorDetail(self.EITHER, code="required")])
            raise

    EITHER = "Send either seats (named seats) or quantity (best available)."

    def validate(self, attrs: dict) -> dict:
        has_seats, has_quantity = "seats" in attrs, "quantity" in attrs
        if has_seats == has_quantity:
            raise ValidationError({"seats": [ErrorDetail(self.EITHER, code="required")]})
        if has_seats and ("tier" in attrs or attrs.get("allow_split")):
            raise ValidationError(
                {"tier": ["tier and allow_split go with quantity (best available) only."]}
            )
        return attrs


class CancelRequestSerializer(serializers.Serializer):
    """The optional body of a cancel: which seats. Without it, the whole booking."""

    seats = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        min_length=1,
        max_length=1000,
        required=False,
        help_text="Seat ids of this booking to cancel, each once (a repeated id is a 400). "
        "Absent: every seat the booking still has. The booking keeps its other seats.",
    )

    def validate_seats(self, value: list[int]) -> list[int]:
        repeated = sorted({seat for seat in value if value.count(seat) > 1})
        if repeated:
            raise ValidationError(
                f"Seat(s) {', '.join(map(str, repeated))} are listed more than once.",
                code="duplicate",
            )
        return value


class ExchangeRequestSerializer(serializers.Serializer):
    """The new show and seats of an exchange."""

    showtime = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The show to move to (the same one is fine)."
    )
    seats = SeatIdsField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=True,
        max_length=1000,
        help_text="Seat ids of that show's screen, each once; 1 to BOOKING_MAX_SEATS (10).",
    )
    accessible = serializers.BooleanField(
        default=False, help_text="As for a hold: wheelchair spaces only with accessible: true."
    )


class BookingFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BookingStatus.choices, method="filter_status")
    # Plain numbers, not choices among all users: a customer's list is already only their own,
    # and a choice field would tell them which user ids exist.
    user = IdFilter(field_name="user_id", help_text="A user id (admins).")
    showtime = IdFilter(field_name="showtime_id", help_text="A showtime id.")

    class Meta:
        model = Booking
        fields = ["user", "showtime", "status"]

    def filter_status(self, queryset: BookingQuerySet, name: str, value: str) -> QuerySet[Booking]:
        """By effective status: a lapsed pending booking is listed as expired."""
        return queryset.with_effective_status(value, timezone.now())


idempotency_parameter = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Retry-safe key: the same key and body replays the first response.",
)


@extend_schema_view(
    list=extend_schema(summary="List bookings (customers: their own; admins: all)"),
    retrieve=extend_schema(summary="One booking"),
)
class BookingViewSet(
    CacheHeadersMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    cache_scope = PRIVATE  # a customer's own bookings
    openapi_tags = ["bookings"]
    permission_classes = [IsAuthenticated]
    serializer_class = BookingSerializer
    filterset_class = BookingFilter

    def get_queryset(self) -> QuerySet[Booking]:
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        # IsAuthenticated: request.user is a User here, never an AnonymousUser (so below too).
        return selectors.bookings_visible_to(cast(User, self.request.user))

    @extend_schema(
        summary="Hold seats (named, or the best N available; all or nothing); pay with "
        "POST /bookings/{id}/pay/",
        request=HoldRequestSerializer,
        responses={
            201: BookingSerializer,
            409: conflict(
                "seats_unavailable",
                "hold_limit",
                "no_adjacent_seats",
                "seat_blocked",
                "wheelchair_only",
                "companion_only",
                "single_seat_gap",
                "showtime_changed",
                "seats_changed",
            ),
            503: DATABASE_UNAVAILABLE,
        },
        parameters=[idempotency_parameter],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        showtime = (
            Showtime.objects.select_related("movie", "screen__theater")
            .filter(pk=data.validated_data["showtime"])
            .first()
        )
        if showtime is None:
            raise Invalid("No such showtime.", attr="showtime")
        values = data.validated_data
        if "quantity" in values:
            booking = services.hold_best_available(
                user=cast(User, request.user),
                showtime=showtime,
                quantity=values["quantity"],
                tier=values.get("tier"),
                allow_split=values["allow_split"],
                accessible=values["accessible"],
            )
        else:
            booking = services.create_hold(
                user=cast(User, request.user),
                showtime=showtime,
                seat_ids=values["seats"],
                accessible=values["accessible"],
            )
        booking = selectors.new_hold_for_answer(booking)
        return Response(self.get_serializer(booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a booking or some of its seats (pending: release; paid and early "
        "enough: refund)",
        description=(
            "Without a body, or with `seats` naming every seat the booking still has: the whole "
            "booking is cancelled. With `seats`: only those seats; the booking keeps the others "
            "(and stays confirmed), its `total` becomes their price, and a paid booking is "
            "refunded exactly the cancelled seats' prices (`refunded_amount` grows once Stripe "
            "confirms it). Each cancelled seat gets `cancelled_at`; its seat is free at once "
            "and its ticket no longer admits. The cut-off and the checked-in rule apply per "
            "seat: a customer may cancel the unused seats of a booking whose other tickets were "
            "used. 400 (`seats`): a seat not of the booking (`not_in_booking`), cancelled "
            "already (`seat_cancelled`), listed twice (`duplicate`), or an empty list. 409 "
            "`payment_open`: some seats of a pending booking whose payment is open (cancel it "
            "whole, or pay); `exchange_pending`: some seats of an exchange waiting for its "
            "payment (the same)."
        ),
        request=CancelRequestSerializer,
        responses={
            200: BookingSerializer,
            409: conflict(
                "booking_expired",
                "booking_cancelled",
                "cancellation_closed",
                "checked_in",
                "payment_open",
                "exchange_pending",
            ),
            503: DATABASE_UNAVAILABLE,
        },
        parameters=[idempotency_parameter],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        body = CancelRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        booking = services.cancel_booking(
            booking=self.get_object(),
            by=cast(User, request.user),
            seat_ids=body.validated_data.get("seats"),
        )
        booking = selectors.booking_list().get(pk=booking.pk)
        return Response(self.get_serializer(booking).data)

    @extend_schema(
        summary="Exchange a confirmed booking for seats of another show (or other seats)",
        description=(
            "Holds the new seats as any hold would (seat rules, the per-customer cap) and "
            "answers the new booking: `exchange_of` is this booking, `credit` what it is worth "
            "(the price of the seats it keeps). When the new total is at most the credit, the "
            "new booking is confirmed at once, the difference is refunded to the card, and this "
            "booking becomes `exchanged` (its seats free, its tickets dead). Otherwise the new "
            "booking is `pending` with `amount_due` (total less credit), paid through "
            "`POST /bookings/{id}/pay/`; the exchange completes when that payment is recorded, "
            "and a hold that lapses changes nothing for this booking. The owner until "
            "BOOKING_CANCEL_CUTOFF_MINUTES before the show, an admin at any time. 409 "
            "`not_confirmed`, `currency_mismatch`, `cutoff`, `checked_in`, `seats_taken` (this "
            "booking's own seats count as taken until the exchange completes), and the hold's "
            "seat rules and cap."
        ),
        request=ExchangeRequestSerializer,
        responses={
            201: BookingSerializer,
            409: conflict(
                "not_confirmed",
                "currency_mismatch",
                "cutoff",
                "checked_in",
                "seats_taken",
                "hold_limit",
                "seat_blocked",
                "wheelchair_only",
                "companion_only",
                "single_seat_gap",
                "showtime_changed",
                "seats_changed",
            ),
            503: DATABASE_UNAVAILABLE,
        },
        parameters=[idempotency_parameter],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def exchange(self, request: Request, pk: str | None = None) -> Response:
        booking = self.get_object()
        data = ExchangeRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        showtime = (
            Showtime.objects.select_related("movie", "screen__theater")
            .filter(pk=values["showtime"])
            .first()
        )
        if showtime is None:
            raise Invalid("No such showtime.", attr="showtime")
        new = services.exchange_booking(
            booking=booking,
            by=cast(User, request.user),
            showtime=showtime,
            seat_ids=values["seats"],
            accessible=values["accessible"],
        )
        new = selectors.booking_list().get(pk=new.pk)
        return Response(self.get_serializer(new).data, status=status.HTTP_201_CREATED)

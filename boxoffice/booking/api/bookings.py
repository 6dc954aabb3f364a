"""Seat maps, holds and bookings."""

from __future__ import annotations

import re

import django_filters
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled, ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.core.errors import ErrorResponse409Serializer
from boxoffice.core.filters import MAX_ID, IdFilter
from boxoffice.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from boxoffice.core.idempotency import idempotent
from boxoffice.core.throttling import AnonThrottle
from boxoffice.schedule.models import Showtime

from . import selectors, services, states
from .models import Booking, BookingSeat, BookingStatus


class SeatMapEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    row = serializers.CharField()
    number = serializers.IntegerField()
    label = serializers.CharField()
    tier = serializers.ChoiceField(choices=["standard", "premium", "vip"])
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(choices=["available", "held", "booked"])


class BookingSeatSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="seat_id", read_only=True)
    label = serializers.CharField(source="seat.label", read_only=True)
    breakdown = serializers.SerializerMethodField(
        help_text="How the price was computed: base_price x tier_factor x time_factor."
    )

    class Meta:
        model = BookingSeat
        fields = ["id", "label", "tier", "price", "breakdown"]

    def get_breakdown(self, obj: BookingSeat) -> dict[str, str]:
        return {
            "base_price": str(obj.base_price),
            "tier_factor": str(obj.tier_factor),
            "time_factor": str(obj.time_factor),
        }


class PaymentSerializer(serializers.Serializer):
    provider = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()


class TicketSerializer(serializers.Serializer):
    seat = serializers.CharField()
    code = serializers.CharField()


class BookingSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    seats = BookingSeatSerializer(many=True, read_only=True)
    payment = serializers.SerializerMethodField()
    tickets = serializers.SerializerMethodField()
    user = serializers.IntegerField(source="user_id", read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "user",
            "status",
            "showtime",
            "seats",
            "total",
            "currency",
            "expires_at",
            "paid_amount",
            "refunded_amount",
            "payment",
            "tickets",
            "created_at",
            "confirmed_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=BookingStatus.choices))
    def get_status(self, obj: Booking) -> str:
        return states.effective_status(obj)

    @extend_schema_field(PaymentSerializer(allow_null=True))
    def get_payment(self, obj: Booking) -> dict | None:
        """What the owner's client needs to pay, while the booking can still be paid."""
        if states.effective_status(obj) != BookingStatus.PENDING or not obj.payment_client_secret:
            return None
        request = self.context.get("request")
        if request is not None and request.user.pk != obj.user_id:
            return None  # an admin looking at someone's booking does not get their secret
        return {
            "provider": "stripe",
            "client_secret": obj.payment_client_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        }

    @extend_schema_field(TicketSerializer(many=True))
    def get_tickets(self, obj: Booking) -> list[dict]:
        if obj.status != BookingStatus.CONFIRMED:
            return []
        return [
            {"seat": seat.seat.label, "code": seat.ticket.code}
            for seat in obj.seats.all()
            if hasattr(seat, "ticket")
        ]


class HoldRequestSerializer(serializers.Serializer):
    showtime = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    seats = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=True,
        max_length=1000,
        help_text="Seat ids of the show's screen, each once; 1 to BOOKING_MAX_SEATS (10).",
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

    def filter_status(self, queryset, name, value):  # type: ignore[no-untyped-def]
        """By effective status: a lapsed pending booking is listed as expired."""
        from django.db.models import Q
        from django.utils import timezone

        now = timezone.now()
        if value == BookingStatus.PENDING:
            return queryset.filter(status=value, expires_at__gt=now)
        if value == BookingStatus.EXPIRED:
            return queryset.filter(
                Q(status=value) | Q(status=BookingStatus.PENDING, expires_at__lte=now)
            )
        return queryset.filter(status=value)


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
class BookingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    openapi_tags = ["bookings"]
    permission_classes = [IsAuthenticated]
    serializer_class = BookingSerializer
    filterset_class = BookingFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        return selectors.bookings_visible_to(self.request.user)

    @extend_schema(
        summary="Hold seats (all or nothing) and start a booking",
        request=HoldRequestSerializer,
        responses={201: BookingSerializer, 409: ErrorResponse409Serializer},
        parameters=[idempotency_parameter],
    )
    @idempotent
    def create(self, request: Request) -> Response:
        data = HoldRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        showtime = (
            Showtime.objects.select_related("screen__theater")
            .filter(pk=data.validated_data["showtime"])
            .first()
        )
        if showtime is None:
            raise ValidationError({"showtime": ["No such showtime."]})
        try:
            booking = self.start_booking(
                user=request.user, showtime=showtime, seat_ids=data.validated_data["seats"]
            )
        except services.HoldError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from exc
        booking = selectors.booking_list().get(pk=booking.pk)
        return Response(self.get_serializer(booking).data, status=status.HTTP_201_CREATED)

    def start_booking(self, *, user, showtime: Showtime, seat_ids: list[int]) -> Booking:  # type: ignore[no-untyped-def]
        """The service a new booking goes through; the payments layer adds its own step."""
        return services.create_hold(user=user, showtime=showtime, seat_ids=seat_ids)

    def after_cancel(self, booking: Booking) -> None:
        """Called once a cancellation has committed; the payments layer refunds here."""

    @extend_schema(
        summary="Cancel a booking (pending: release; paid and early enough: refund)",
        request=None,
        responses={200: BookingSerializer, 409: ErrorResponse409Serializer},
        parameters=[idempotency_parameter],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        booking = services.cancel_booking(booking=self.get_object())
        self.after_cancel(booking)
        booking = selectors.booking_list().get(pk=booking.pk)
        return Response(self.get_serializer(booking).data)


class SeatMapThrottle(AnonThrottle):
    """Per client address, at THROTTLE_ANON's rate, signed in or not: the seat map is public,
    and looking at who is signed in would cost a token decode or a session read."""

    def get_ident_key(self, request, view) -> str | None:  # type: ignore[no-untyped-def]
        return self.get_ident(request)


def _seat_map_body(request, showtime_id: int) -> bytes:  # type: ignore[no-untyped-def]
    """Count the request and read the map's version tokens in one cache round trip, then
    answer from the seat-map cache whenever it is still true (see seatmap_cache). Raises
    Throttled or Showtime.DoesNotExist."""
    throttle = SeatMapThrottle()
    return selectors.seat_map_json(
        showtime_id, fetch=lambda keys: throttle.count_and_get_many(request, None, keys)
    )


class SeatMapView(APIView):
    """The hottest read: see :func:`seat_map` for how requests reach it."""

    openapi_tags = ["bookings"]
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []  # counted with the cache read, in _seat_map_body

    @extend_schema(
        summary="A show's seat map: every seat with its price and status",
        description=(
            "Every seat of the show's screen, rows in natural order (A..Z, AA..), with its "
            "price and status (available, held, booked): one plain array, never paginated. "
            "A hold that lapsed reads available at once. Public; throttled per client address."
        ),
        responses={200: SeatMapEntrySerializer(many=True)},
    )
    def get(self, request: Request, showtime_id: int) -> HttpResponse:
        try:
            body = _seat_map_body(request, showtime_id)
        except Showtime.DoesNotExist:
            raise NotFound("No such showtime.") from None
        return HttpResponse(body, content_type="application/json")


_seat_map_view = SeatMapView.as_view()


@csrf_exempt
def seat_map(request, showtime_id: int) -> HttpResponse:  # type: ignore[no-untyped-def]
    """The URL's view. A plain GET that is neither throttled nor for an unknown show is served
    here without DRF's request wrapping and content negotiation (about a tenth of the request's
    cost, measured in bench/); everything else (other methods, 404, 429, 503) goes through
    SeatMapView, so errors keep the API's standard shape. The schema documents SeatMapView."""
    if request.method == "GET":
        try:
            return HttpResponse(
                _seat_map_body(request, showtime_id), content_type="application/json"
            )
        except (Throttled, Showtime.DoesNotExist, DatabaseError):
            pass  # SeatMapView answers these in the API's shape (429, 404, 503)
    return _seat_map_view(request, showtime_id=showtime_id)


# drf-spectacular documents URL callbacks that name their APIView class.
seat_map.cls = SeatMapView  # type: ignore[attr-defined]
seat_map.initkwargs = {}  # type: ignore[attr-defined]


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "12:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time without an offset (``HH:MM[:SS]``), in each theater's own zone."""

    def to_internal_value(self, value):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and re.search(r"(Z|[+-]\d{2}:?\d{2})$", value.strip()):
            raise ValidationError(
                "Give a local wall-clock time without an offset, like 12:00: it applies in "
                "each theater's own time zone."
            )
        return super().to_internal_value(value)


class PricePolicySerializer(serializers.ModelSerializer):
    morning_ends_at = LocalTimeField(
        required=False, help_text="Shows starting before this local time get the morning factor."
    )

    class Meta:
        from .models import PricePolicy

        model = PricePolicy
        fields = ["id", *PricePolicy.VERSION_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]  # factor limits: the model's validators


class PricePolicyView(APIView):
    """The price factors in force. Saving creates a new version; prices already frozen on
    bookings never change."""

    openapi_tags = ["pricing"]

    def get_permissions(self):  # type: ignore[no-untyped-def]
        from boxoffice.accounts.permissions import IsAdmin

        return [AllowAny()] if self.request.method == "GET" else [IsAdmin()]

    @extend_schema(summary="The price factors in force", responses={200: PricePolicySerializer})
    def get(self, request: Request) -> Response:
        from . import pricing

        return Response(PricePolicySerializer(pricing.current_policy()).data)

    @extend_schema(
        summary="Set new price factors (admin); a new version",
        request=PricePolicySerializer,
        responses={201: PricePolicySerializer},
    )
    def post(self, request: Request) -> Response:
        from . import pricing

        current = pricing.current_policy()
        data = PricePolicySerializer(current, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        policy = services.new_price_policy(by=request.user, **data.validated_data)
        return Response(PricePolicySerializer(policy).data, status=status.HTTP_201_CREATED)


class CheckInRequestSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=64)


class CheckInResponseSerializer(serializers.Serializer):
    code = serializers.CharField()
    seat = serializers.CharField()
    tier = serializers.CharField()
    booking = serializers.IntegerField()
    showtime = serializers.IntegerField()
    movie = serializers.CharField()
    starts_at = serializers.DateTimeField()
    checked_in_at = serializers.DateTimeField()


class CheckInView(APIView):
    """Admit a ticket at the door: 200 the first time, 409 after; 404 for codes that are forged,
    unknown or of a cancelled booking."""

    openapi_tags = ["checkin"]

    def get_permissions(self):  # type: ignore[no-untyped-def]
        from boxoffice.accounts.permissions import IsAdmin

        return [IsAdmin()]

    @extend_schema(
        summary="Check a ticket in (admin)",
        request=CheckInRequestSerializer,
        responses={200: CheckInResponseSerializer, 409: ErrorResponse409Serializer},
    )
    def post(self, request: Request) -> Response:
        data = CheckInRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = services.check_in(code=data.validated_data["code"], by=request.user)
        seat = ticket.booking_seat
        showtime = Showtime.objects.select_related("movie").get(pk=seat.showtime_id)
        return Response(
            {
                "code": ticket.code,
                "seat": seat.seat.label,
                "tier": seat.tier,
                "booking": seat.booking_id,
                "showtime": showtime.pk,
                "movie": showtime.movie.title,
                "starts_at": showtime.starts_at,
                "checked_in_at": ticket.checked_in_at,
            }
        )

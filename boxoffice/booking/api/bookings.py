"""Holds and bookings: create (hold), list, read, cancel. Paying is the payment layer's
``POST /bookings/{id}/pay/`` (boxoffice.payments.api)."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
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

from .. import selectors, services, states
from ..models import Booking, BookingQuerySet, BookingSeat, BookingStatus


class BookingSeatSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="seat_id", read_only=True)
    # A field named like a Field attribute (the stubs see Field.label); DRF's metaclass moves
    # declared fields off the class, so nothing is shadowed at runtime.
    label = serializers.CharField(source="seat.label", read_only=True)  # type: ignore[assignment]
    breakdown = serializers.SerializerMethodField(
        help_text="How the price was computed: base_price x tier_factor x time_factor."
    )

    class Meta:
        model = BookingSeat
        fields = ["id", "label", "tier", "price", "breakdown", "cancelled_at"]
        extra_kwargs = {
            "cancelled_at": {
                "help_text": "When this seat was cancelled (null: the booking still has it); "
                "its seat is free and its ticket no longer admits."
            }
        }

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
    qr = serializers.URLField(
        help_text="Absolute URL of the ticket's QR code (PNG); owner and admins only."
    )
    checked_in_at = serializers.DateTimeField(
        allow_null=True, help_text="When the ticket was admitted at the door (null: unused)."
    )


class BookingShowSerializer(serializers.Serializer):
    """The show a booking is for, named as a customer reads it."""

    movie = serializers.CharField(help_text="The movie's title.")
    theater = serializers.CharField(help_text="The theater's name.")
    screen = serializers.CharField(help_text="The screen's name.")
    starts_at = serializers.DateTimeField(
        help_text="The start on the theater's clock: ISO 8601 with the theater's offset."
    )
    timezone = serializers.CharField(help_text="The theater's IANA time zone.")


class BookingSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    seats = BookingSeatSerializer(many=True, read_only=True)
    payment = serializers.SerializerMethodField()
    show = serializers.SerializerMethodField()
    tickets = serializers.SerializerMethodField()
    checked_in_seats = serializers.SerializerMethodField()
    user = serializers.IntegerField(source="user_id", read_only=True)
    waitlist_entry = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="The waitlist entry this hold was offered to (GET /waitlist/), or null: an "
        "offer is held for WAITLIST_OFFER_MINUTES and paid like any hold.",
    )

    class Meta:
        model = Booking
        fields = [
            "id",
            "user",
            "status",
            "showtime",
            "show",
            "seats",
            "total",
            "currency",
            "expires_at",
            "paid_amount",
            "refunded_amount",
            "payment",
            "tickets",
            "checked_in_seats",
            "created_at",
            "confirmed_at",
            "cancelled_at",
            "waitlist_entry",
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

    @extend_schema_field(BookingShowSerializer)
    def get_show(self, obj: Booking) -> dict[str, str]:
        showtime = obj.showtime
        theater = showtime.screen.theater
        return {
            "movie": showtime.movie.title,
            "theater": theater.name,
            "screen": showtime.screen.name,
            "starts_at": showtime.starts_at.astimezone(theater.tzinfo).isoformat(),
            "timezone": theater.timezone,
        }

    @extend_schema_field(TicketSerializer(many=True))
    def get_tickets(self, obj: Booking) -> list[dict]:
        if obj.status != BookingStatus.CONFIRMED:
            return []
        request = self.context.get("request")
        tickets = []
        for seat in obj.seats.all():
            if not hasattr(seat, "ticket") or seat.cancelled_at is not None:
                continue  # no ticket, or its seat was cancelled: it admits no more
            code = seat.ticket.code
            qr = reverse("booking-ticket-qr", kwargs={"pk": obj.pk, "code": code})
            tickets.append(
                {
                    "seat": seat.seat.label,
                    "code": code,
                    "qr": request.build_absolute_uri(qr) if request is not None else qr,
                    "checked_in_at": seat.ticket.checked_in_at,
                }
            )
        return tickets

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_checked_in_seats(self, obj: Booking) -> list[str]:
        """Seats whose tickets were used at the door: an admin who cancels such a booking
        refunds tickets that had been used, and the answer says so."""
        if obj.status not in (BookingStatus.CONFIRMED, BookingStatus.CANCELLED):
            return []
        return [
            seat.seat.label
            for seat in obj.seats.all()
            if hasattr(seat, "ticket") and seat.ticket.checked_in_at is not None
        ]


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
            "whole, or pay)."
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

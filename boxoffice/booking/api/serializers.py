"""How a booking reads in the API (and in the shop, which renders the same answer)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .. import states
from ..models import Booking, BookingSeat, BookingStatus


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
    exchange_of = serializers.IntegerField(
        source="exchange_of_id",
        read_only=True,
        allow_null=True,
        help_text="The booking this one was exchanged from (null: none).",
    )
    credit = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        read_only=True,
        help_text="What the booking it was exchanged from was worth: counts as paid.",
    )
    amount_due = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        read_only=True,
        help_text="What is left to pay through the pay step: total less credit.",
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
            "credit",
            "amount_due",
            "exchange_of",
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

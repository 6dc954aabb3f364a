"""``POST /showtimes/{id}/waitlist/`` (join), ``GET /waitlist/`` (the customer's entries),
``DELETE /waitlist/{id}/`` (leave)."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.accounts.models import User
from boxoffice.booking.models import BookingStatus
from boxoffice.core.errors import NotFound
from boxoffice.core.http_cache import PRIVATE, CacheHeadersMixin
from boxoffice.core.openapi import DATABASE_UNAVAILABLE, conflict
from boxoffice.schedule.models import Showtime

from . import selectors, services
from .models import EntryStatus, WaitlistEntry


class WaitlistShowSerializer(serializers.Serializer):
    movie = serializers.CharField(help_text="The movie's title.")
    theater = serializers.CharField(help_text="The theater's name.")
    starts_at = serializers.DateTimeField(
        help_text="The start on the theater's clock: ISO 8601 with the theater's offset."
    )


class WaitlistEntrySerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    position = serializers.SerializerMethodField()
    offer = serializers.SerializerMethodField()
    show = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = ["id", "showtime", "show", "quantity", "position", "status", "offer", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=EntryStatus.choices))
    def get_status(self, obj: WaitlistEntry) -> str:
        """As it is now: a paid offer is ``booked`` and an offer whose hold ran out ``lapsed``
        before the worker records it, a waiting entry of a show that started is ``ended``."""
        now = timezone.now()
        paid = obj.offer is not None and obj.offer.status == BookingStatus.CONFIRMED
        if paid and obj.status in (EntryStatus.OFFERED, EntryStatus.LAPSED, EntryStatus.ENDED):
            return EntryStatus.BOOKED
        if obj.status == EntryStatus.OFFERED and obj.offer is not None:
            offer = obj.offer
            if offer.status != BookingStatus.CONFIRMED and (
                offer.status != BookingStatus.PENDING or offer.hold_has_lapsed(now)
            ):
                return EntryStatus.LAPSED
        if obj.status == EntryStatus.WAITING and obj.showtime.starts_at <= now:
            return EntryStatus.ENDED
        return obj.status

    @extend_schema_field(serializers.IntegerField(allow_null=True, min_value=1))
    def get_position(self, obj: WaitlistEntry) -> int | None:
        """1 for the first waiting entry of the show; null once the entry is not waiting."""
        if self.get_status(obj) != EntryStatus.WAITING:
            return None
        return int(getattr(obj, "ahead", 0)) + 1

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_offer(self, obj: WaitlistEntry) -> int | None:
        """The booking held for this entry (pay it like any hold), or null."""
        return obj.offer_id

    @extend_schema_field(WaitlistShowSerializer)
    def get_show(self, obj: WaitlistEntry) -> dict[str, str]:
        showtime = obj.showtime
        theater = showtime.screen.theater
        return {
            "movie": showtime.movie.title,
            "theater": theater.name,
            "starts_at": showtime.starts_at.astimezone(theater.tzinfo).isoformat(),
        }


class WaitlistJoinSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=settings.BOOKING_MAX_SEATS,
        help_text="Seats wanted side by side; 1 to BOOKING_MAX_SEATS (the per-customer cap).",
    )


class JoinWaitlistView(GenericAPIView):
    openapi_tags = ["waitlist"]
    permission_classes = [IsAuthenticated]
    serializer_class = WaitlistEntrySerializer

    @extend_schema(
        summary="Join a show's waitlist (while N seats together are not on sale)",
        description=(
            "When seats come free, the first waiting entry whose party fits gets an offer: the "
            "best N seats side by side held for it as a pending booking (its `waitlist_entry` "
            "says so) for WAITLIST_OFFER_MINUTES, and an email with a link to pay. An offer not "
            "paid in time ends the entry `lapsed` and goes to the next entry."
        ),
        request=WaitlistJoinSerializer,
        responses={
            201: WaitlistEntrySerializer,
            409: conflict("seats_available", "already_waiting", "show_cancelled", "show_started"),
            503: DATABASE_UNAVAILABLE,
        },
        operation_id="showtimes_waitlist_create",
    )
    def post(self, request: Request, showtime_id: int) -> Response:
        data = WaitlistJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        showtime = (
            Showtime.objects.select_related("screen__theater", "movie")
            .filter(pk=showtime_id)
            .first()
        )
        if showtime is None:
            raise NotFound("No such showtime.")
        entry = services.join(
            user=cast(User, request.user),
            showtime=showtime,
            quantity=data.validated_data["quantity"],
            base_url=settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}",
        )
        entry = selectors.entries_of(cast(User, request.user)).get(pk=entry.pk)
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="The customer's waitlist entries, newest first"),
    destroy=extend_schema(
        summary="Leave the waitlist (an offer held for the entry ends; its seats go to the next)",
        responses={204: None, 503: DATABASE_UNAVAILABLE},
    ),
)
class WaitlistViewSet(
    CacheHeadersMixin, mixins.ListModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    cache_scope = PRIVATE
    openapi_tags = ["waitlist"]
    permission_classes = [IsAuthenticated]
    serializer_class = WaitlistEntrySerializer

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        if getattr(self, "swagger_fake_view", False):
            return WaitlistEntry.objects.none()
        return selectors.entries_of(cast(User, self.request.user))

    def destroy(self, request: Request, *args: object, **kwargs: object) -> Response:
        entry = self.get_object()  # 404 for anyone else's entry, or an id that is not one
        services.leave(user=cast(User, request.user), entry_id=entry.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

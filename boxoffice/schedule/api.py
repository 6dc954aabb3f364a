"""Showtime endpoints: anyone reads the schedule, admins write it."""

from __future__ import annotations

import datetime
from typing import cast

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_serializer, extend_schema_view
from rest_framework import generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.accounts.models import User
from boxoffice.accounts.permissions import IsAdmin, IsAdminOrReadOnly
from boxoffice.catalog.models import Movie, Theater
from boxoffice.core import money
from boxoffice.core.filters import IdFilter
from boxoffice.core.http_cache import CacheHeadersMixin
from boxoffice.core.openapi import conflict
from boxoffice.core.views import ProtectedDestroyMixin

from . import selectors, services
from .models import Showtime


class ShowtimeMovieSerializer(serializers.ModelSerializer):
    """The movie as a showtime embeds it: enough to list the show without a second call."""

    poster = serializers.ImageField(read_only=True, use_url=True, help_text="URL or null.")

    class Meta:
        model = Movie
        fields = ["id", "title", "duration_minutes", "age_rating", "poster"]


class ShowtimeTheaterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theater
        fields = ["id", "name", "timezone"]


class ShowtimeSerializer(serializers.ModelSerializer):
    """Ids on write (``movie``, ``screen``); on read ``movie`` is ``{id, title,
    duration_minutes, age_rating, poster}`` and ``theater`` ``{id, name, timezone}`` (see
    :class:`ShowtimeReadSerializer`, the shape the schema gives for answers)."""

    theater = serializers.IntegerField(source="screen.theater_id", read_only=True)
    seats_available = serializers.SerializerMethodField()
    currency = serializers.RegexField(
        r"^[A-Za-z]{3}$", required=False, help_text="ISO 4217, lower case (default usd)."
    )
    base_price = serializers.DecimalField(
        max_digits=8, decimal_places=2, min_value=0, coerce_to_string=True
    )

    class Meta:
        model = Showtime
        fields = [
            "id",
            "movie",
            "screen",
            "theater",
            "starts_at",
            "ends_at",
            "base_price",
            "currency",
            "seats_available",
            "status",
        ]
        read_only_fields = ["ends_at", "status"]

    def to_representation(self, instance: Showtime) -> dict:
        data = super().to_representation(instance)
        # Nested serializers built once per (list) serializer, not once per row.
        embedded = getattr(self, "_embedded", None)
        if embedded is None:
            embedded = self._embedded = (
                ShowtimeMovieSerializer(context=self.context),
                ShowtimeTheaterSerializer(context=self.context),
            )
        data["movie"] = embedded[0].to_representation(instance.movie)
        data["theater"] = embedded[1].to_representation(instance.screen.theater)
        return data

    def get_seats_available(self, showtime: Showtime) -> int:
        available = getattr(showtime, "seats_available", None)
        if available is None:
            available = getattr(showtime, "capacity", None)
        return int(available or 0)

    def validate_currency(self, value: str) -> str:
        try:
            return money.validate_currency(value)
        except money.UnsupportedCurrency as exc:
            raise ValidationError(str(exc)) from exc

    def validate(self, attrs):
        """The base price must be chargeable in the show's currency: whole numbers for
        zero-decimal currencies (jpy, krw, ...), cents for the rest."""
        currency = attrs.get("currency") or getattr(
            self.instance, "currency", settings.DEFAULT_CURRENCY
        )
        base_price = attrs.get("base_price", getattr(self.instance, "base_price", None))
        try:
            money.validate_currency(currency)
            if base_price is not None:
                money.require_whole_quantum(base_price, currency, name="base_price")
        except money.UnsupportedCurrency as exc:  # a show stored before currencies were checked
            raise ValidationError({"currency": [str(exc)]}) from exc
        except money.ExcessPrecision as exc:
            raise ValidationError({"base_price": [str(exc)]}) from exc
        return attrs

    def to_internal_value(self, data):
        if isinstance(data, dict) and "status" in data:
            raise ValidationError(
                {
                    "status": [
                        "A show's status changes only through its cancel action: "
                        "POST /api/v1/showtimes/{id}/cancel/ with a reason."
                    ]
                }
            )
        return super().to_internal_value(data)

    def create(self, validated_data):
        showtime = services.create_showtime(**validated_data)
        return selectors.showtime_list().get(pk=showtime.pk)  # with capacity and availability

    def update(self, instance, validated_data):
        showtime = services.update_showtime(showtime=instance, **validated_data)
        return selectors.showtime_list().get(pk=showtime.pk)


@extend_schema_serializer(component_name="Showtime")
class ShowtimeReadSerializer(ShowtimeSerializer):
    """Schema-only: how a showtime reads (every answer); requests send ids."""

    # Re-declared with other field types for the schema; the stubs see ShowtimeSerializer's
    # attribute types (DRF's metaclass moves declared fields off the class at runtime).
    movie = ShowtimeMovieSerializer(read_only=True)
    theater = ShowtimeTheaterSerializer(read_only=True)  # type: ignore[assignment]


class ShowtimeCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=200, help_text="Why the show is cancelled; every customer is told."
    )


def _applied_in_filter_queryset(
    queryset: QuerySet[Showtime], name: str, value: datetime.date
) -> QuerySet[Showtime]:
    return queryset


class ShowtimeFilter(django_filters.FilterSet):
    """A malformed value (``from=yesterday``, ``theater=abc``) is a 400 naming the parameter."""

    date = django_filters.DateFilter(
        method="filter_date", help_text="Shows on this date in the theater's time zone."
    )
    # ``from`` and ``to`` are Python keywords: named through the class namespace. Both are
    # applied together in filter_queryset (one range per time zone).
    locals()["from"] = django_filters.DateFilter(
        method=_applied_in_filter_queryset,
        help_text="Shows on or after this date (YYYY-MM-DD) in the theater's time zone.",
    )
    locals()["to"] = django_filters.DateFilter(
        method=_applied_in_filter_queryset,
        help_text="Shows on or before this date (YYYY-MM-DD, included) in the theater's time zone.",
    )
    theater = IdFilter(field_name="screen__theater_id", help_text="A theater id.")

    class Meta:
        model = Showtime
        fields = ["date", "from", "to", "movie", "theater", "screen", "status"]

    def filter_date(self, queryset, name, value):
        return selectors.on_local_date(queryset, value)

    def filter_queryset(self, queryset: QuerySet[Showtime]) -> QuerySet[Showtime]:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        return selectors.between_local_dates(queryset, data.get("from"), data.get("to"))


_409 = {409: conflict("showtime_overlap", "showtime_cancelled", "showtime_has_bookings")}


@extend_schema_view(
    list=extend_schema(
        summary="List showtimes", responses={200: ShowtimeReadSerializer(many=True)}
    ),
    retrieve=extend_schema(summary="One showtime", responses={200: ShowtimeReadSerializer}),
    create=extend_schema(
        summary="Schedule a show (admin); overlaps refused",
        responses={201: ShowtimeReadSerializer, 409: conflict("showtime_overlap")},
    ),
    update=extend_schema(
        summary="Reschedule a show (admin)", responses={200: ShowtimeReadSerializer, **_409}
    ),
    partial_update=extend_schema(
        summary="Change a show (admin)", responses={200: ShowtimeReadSerializer, **_409}
    ),
    destroy=extend_schema(
        summary="Delete a show without bookings (admin)",
        responses={204: None, 409: conflict("protected")},
    ),
)
class ShowtimeViewSet(CacheHeadersMixin, ProtectedDestroyMixin, viewsets.ModelViewSet):
    openapi_tags = ["schedule"]
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = ShowtimeSerializer
    filterset_class = ShowtimeFilter
    protected_message = (
        "This show has bookings; cancel it instead of deleting it: "
        "POST /api/v1/showtimes/{id}/cancel/ with a reason refunds everyone."
    )

    def get_queryset(self) -> QuerySet[Showtime]:
        return selectors.showtime_list()

    @extend_schema(
        summary="Cancel a show (admin): every hold ends, every payment is refunded",
        description=(
            "Every hold ends at once, every paid booking is cancelled and refunded in full "
            "(no cut-off applies) and every customer is emailed the reason; the show's tickets "
            "stop admitting. Refunds and emails go through the background worker. Repeating it "
            "changes nothing more."
        ),
        request=ShowtimeCancelSerializer,
        responses={200: ShowtimeReadSerializer},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsAdmin])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        data = ShowtimeCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        showtime = services.cancel_showtime(
            showtime=self.get_object(),
            reason=data.validated_data["reason"],
            by=cast(User, request.user),  # IsAdmin: a User, never an AnonymousUser
        )
        return Response(self.get_serializer(selectors.showtime_list().get(pk=showtime.pk)).data)


@extend_schema(
    summary="One movie's showtimes",
    tags=["schedule"],
    responses={200: ShowtimeReadSerializer(many=True)},
)
class MovieShowtimesView(CacheHeadersMixin, generics.ListAPIView):
    permission_classes = [IsAdminOrReadOnly]
    serializer_class = ShowtimeSerializer
    filterset_class = ShowtimeFilter

    def get_queryset(self) -> QuerySet[Showtime]:
        if getattr(self, "swagger_fake_view", False):
            return Showtime.objects.none()
        movie = get_object_or_404(Movie, pk=self.kwargs["movie_id"])
        return selectors.showtime_list().filter(movie=movie)

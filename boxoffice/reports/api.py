"""Admin reports: occupancy per show and revenue per day, movie or theater."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from boxoffice.accounts.permissions import IsAdmin

from . import selectors

MAX_RANGE_DAYS = 366


class RangeSerializer(serializers.Serializer):
    """``from`` and ``to`` select shows by start time; a bare date means its UTC midnight."""

    to = serializers.DateTimeField(
        required=False, help_text="End, exclusive; default: 30 days ahead."
    )

    def to_internal_value(self, data):
        data = dict(data)
        for name in ("from", "to"):
            value = data.get(name)
            if isinstance(value, str) and len(value) == 10:  # a bare date: its UTC midnight
                data[name] = value + "T00:00:00Z"
        return super().to_internal_value(data)

    def validate(self, attrs):
        now = timezone.now()
        start = attrs.get("from") or datetime.combine(
            (now - timedelta(days=30)).date(), time.min, tzinfo=UTC
        )
        end = attrs.get("to") or now + timedelta(days=30)
        if end <= start:
            raise ValidationError({"to": ["'to' must be after 'from'."]})
        if end - start > timedelta(days=MAX_RANGE_DAYS):
            raise ValidationError(
                {
                    "to": [
                        f"The range {start.date()} to {end.date()} spans {(end - start).days} "
                        f"days; at most {MAX_RANGE_DAYS} are allowed (without 'to', it is 30 "
                        "days from now)."
                    ]
                }
            )
        return {"start": start, "end": end}


# "from" is a Python keyword, so the field is added by name.
RangeSerializer._declared_fields["from"] = serializers.DateTimeField(
    required=False, help_text="Start, inclusive (date or ISO 8601); default: 30 days ago."
)


class RevenueQuerySerializer(RangeSerializer):
    group_by = serializers.ChoiceField(choices=list(selectors.GROUPS), default="day")

    def validate(self, attrs):
        group_by = attrs.get("group_by", "day")
        out = super().validate(attrs)
        out["group_by"] = group_by
        return out


class ShowtimeReportRowSerializer(serializers.Serializer):
    showtime = serializers.IntegerField(source="id")
    movie = serializers.CharField(source="movie.title")
    theater = serializers.CharField(source="screen.theater.name")
    starts_at = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    sold = serializers.IntegerField()
    held = serializers.IntegerField()
    occupancy = serializers.SerializerMethodField()
    revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()

    def get_occupancy(self, row) -> str:
        if not row.capacity:
            return "0.0000"
        return str(
            (Decimal(row.sold) / Decimal(row.capacity)).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        )


class RevenueRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    # A field named like a Field attribute (the stubs see Field.label); DRF's metaclass moves
    # declared fields off the class, so nothing is shadowed at runtime.
    label = serializers.CharField()  # type: ignore[assignment]
    bookings = serializers.IntegerField()
    tickets = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()


class ReportView(ListAPIView):
    openapi_tags = ["reports"]
    permission_classes = [IsAdmin]
    query_serializer: type[serializers.Serializer] = RangeSerializer
    filter_backends: list = []  # the query parameters are validated by query_serializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def query(self) -> dict:
        params = self.query_serializer(data=self.request.query_params.dict())
        params.is_valid(raise_exception=True)
        return params.validated_data


class ShowtimeReportView(ReportView):
    serializer_class = ShowtimeReportRowSerializer

    @extend_schema(summary="Occupancy and revenue per show (admin)", parameters=[RangeSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        q = self.query()
        return selectors.showtime_report(start=q["start"], end=q["end"])


class RevenueReportView(ReportView):
    serializer_class = RevenueRowSerializer
    query_serializer = RevenueQuerySerializer

    @extend_schema(
        summary="Revenue per day, movie or theater (admin)", parameters=[RevenueQuerySerializer]
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        q = self.query()
        key, label = selectors.GROUPS[q["group_by"]]
        rows = selectors.revenue_report(start=q["start"], end=q["end"], group_by=q["group_by"])
        return [
            {
                "key": str(row[key]),
                "label": str(row[label]),
                "bookings": row["bookings"],
                "tickets": row["tickets"],
                "revenue": row["revenue"],
                "currency": row["currency"],
            }
            for row in rows
        ]

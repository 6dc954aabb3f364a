"""The price factors in force (read: anyone; write: admins, as a new version)."""

from __future__ import annotations

import re
from datetime import time
from typing import cast

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.accounts.permissions import IsAdmin

from .. import pricing, services
from ..models import PricePolicy


@extend_schema_field({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "example": "12:00"})
class LocalTimeField(serializers.TimeField):
    """A wall-clock time without an offset (``HH:MM[:SS]``), in each theater's own zone."""

    def to_internal_value(self, value: time | str) -> time:
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
        model = PricePolicy
        fields = ["id", *PricePolicy.VERSION_FIELDS, "created_at"]
        read_only_fields = ["id", "created_at"]  # factor limits: the model's validators


class PricePolicyView(APIView):
    """The price factors in force. Saving creates a new version; prices already frozen on
    bookings never change."""

    openapi_tags = ["pricing"]

    def get_permissions(self) -> list[BasePermission]:
        return [AllowAny()] if self.request.method == "GET" else [IsAdmin()]

    @extend_schema(summary="The price factors in force", responses={200: PricePolicySerializer})
    def get(self, request: Request) -> Response:
        return Response(PricePolicySerializer(pricing.current_policy()).data)

    @extend_schema(
        summary="Set new price factors (admin); a new version",
        request=PricePolicySerializer,
        responses={201: PricePolicySerializer},
    )
    def post(self, request: Request) -> Response:
        current = pricing.current_policy()
        data = PricePolicySerializer(current, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        # IsAdmin: request.user is a User here, never an AnonymousUser.
        policy = services.new_price_policy(by=cast(User, request.user), **data.validated_data)
        return Response(PricePolicySerializer(policy).data, status=status.HTTP_201_CREATED)

"""Check-in at the door (admins)."""

from __future__ import annotations

from typing import Any, cast

from django.core.validators import ProhibitNullCharactersValidator
from drf_spectacular.utils import extend_schema
from drf_standardized_errors.openapi_serializers import ErrorResponse404Serializer
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.accounts.permissions import IsAdmin
from boxoffice.core.openapi import conflict

from .. import checkin


class TicketCodeField(serializers.CharField):
    """Any text a scanner may send: a code that is not ours is a 404 from the service, whatever
    its characters (even a NUL, which DRF's CharField would refuse as a 400)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [
            v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)
        ]


class CheckInRequestSerializer(serializers.Serializer):
    code = TicketCodeField(max_length=64)


class CheckInResponseSerializer(serializers.Serializer):
    code = serializers.CharField()
    seat = serializers.CharField()
    tier = serializers.CharField()
    booking = serializers.IntegerField()
    showtime = serializers.IntegerField()
    movie = serializers.CharField()
    theater = serializers.CharField()
    screen = serializers.CharField()
    starts_at = serializers.DateTimeField()
    local_start = serializers.CharField(help_text="The show's start on the theater's clock.")
    timezone = serializers.CharField()
    checked_in_at = serializers.DateTimeField()


class CheckInView(APIView):
    """Admit a ticket at the door: 200 the first time while its show is on; 409 when used or
    when its show is not on (naming the show); 404 for a forged, unknown or cancelled code."""

    openapi_tags = ["checkin"]

    def get_permissions(self) -> list[BasePermission]:
        return [IsAdmin()]

    @extend_schema(
        summary="Check a ticket in (admin)",
        request=CheckInRequestSerializer,
        responses={
            200: CheckInResponseSerializer,
            404: ErrorResponse404Serializer,
            409: conflict("already_checked_in", "show_not_open", "show_ended"),
        },
    )
    def post(self, request: Request) -> Response:
        data = CheckInRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # IsAdmin: request.user is a User here, never an AnonymousUser.
        admission = checkin.check_in(code=data.validated_data["code"], by=cast(User, request.user))
        ticket, showtime = admission.ticket, admission.showtime
        seat = ticket.booking_seat
        return Response(
            {
                "code": ticket.code,
                "seat": seat.seat.label,
                "tier": seat.tier,
                "booking": seat.booking_id,
                "showtime": showtime.pk,
                "movie": showtime.movie.title,
                "theater": showtime.screen.theater.name,
                "screen": showtime.screen.name,
                "starts_at": showtime.starts_at,
                "local_start": admission.local_start.strftime("%Y-%m-%d %H:%M"),
                "timezone": showtime.screen.theater.timezone,
                "checked_in_at": ticket.checked_in_at,
            }
        )

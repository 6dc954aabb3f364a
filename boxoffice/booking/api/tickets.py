"""A confirmed booking's ticket as a QR code image: ``GET /bookings/{id}/tickets/{code}/qr.png``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from boxoffice.accounts.models import User
from boxoffice.core.errors import NotFound

from .. import tickets
from ..models import Booking, BookingStatus, Ticket


class _AnswerInJSON(BaseContentNegotiation):
    """The image is a plain HttpResponse; anything else (404, 401, 429) is the API's JSON error,
    whatever the client's Accept (an ``<img>`` asks for ``image/*``, which no renderer offers)."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self,
        request: Request,
        renderers: Iterable[BaseRenderer],
        format_suffix: str | None = None,
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, first.media_type


QR_TYPES = ["image/png", "application/octet-stream"]


class TicketQRView(generics.GenericAPIView):
    """``GET /bookings/{id}/tickets/{code}/qr.png``: a confirmed booking's ticket as a QR code."""

    openapi_tags = ["bookings"]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AnswerInJSON
    # Cached by the customer's own browser only: the code admits to the show.
    cache_control = "private, max-age=3600"

    def get_queryset(self) -> QuerySet[Booking]:
        if getattr(self, "swagger_fake_view", False):
            return Booking.objects.none()
        user = cast(User, self.request.user)  # IsAuthenticated
        bookings = Booking.objects.all()
        return bookings if user.is_admin else bookings.filter(user=user)

    @extend_schema(
        summary="A ticket's QR code (PNG; owner and admins)",
        description=(
            "The QR code of one ticket of a confirmed booking, as a PNG image: the URL is each "
            "ticket's `qr` in the booking. 404 for anyone else's booking, a code not of this "
            "booking, a seat cancelled on its own, or a booking that is not confirmed."
        ),
        # The same PNG bytes, also as application/octet-stream for a client that asks for that
        # (binary is what generated clients such as openapi-python-client can type).
        responses={
            (200, QR_TYPES[0]): OpenApiTypes.BINARY,
            (200, QR_TYPES[1]): OpenApiTypes.BINARY,
        },
        operation_id="bookings_tickets_qr_retrieve",
    )
    def get(self, request: Request, pk: int, code: str) -> HttpResponse:
        booking = self.get_object()
        ticket = (
            Ticket.objects.filter(
                booking_seat__booking=booking, booking_seat__cancelled_at__isnull=True, code=code
            )
            .values_list("code", flat=True)
            .first()
        )
        if booking.status != BookingStatus.CONFIRMED or ticket is None:
            raise NotFound("No such ticket.")
        # image/png unless the client prefers application/octet-stream (no Accept, or one that
        # names neither: image/png, as ever).
        media_type = request._request.get_preferred_type(QR_TYPES) or QR_TYPES[0]
        response = HttpResponse(tickets.qr_png(ticket), content_type=media_type)
        response["Cache-Control"] = self.cache_control
        return response

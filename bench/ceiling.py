"""The benchmarks' ceilings: a URLconf (``bench.ceiling_settings``: the project's settings with
only ROOT_URLCONF changed) served exactly as the application is, so a request passes the same
server, the same middleware stack and, for holds, the same authentication; only the work of the
real view is missing. Every other URL is the project's own (``config.urls``).

- ``GET /api/v1/showtimes/{id}/seats/``: the seat map's bytes as the real endpoint returned
  them, read once from the file named by BENCH_CEILING_BODY (when set).
- ``POST /api/v1/bookings/ {showtime, seats}``: the INSERT statements of a hold, in one
  transaction: the Booking, its BookingSeat rows (the partial unique index on live
  (showtime, seat) refuses a seat twice: 409) and the SeatChange feed row. No validation reads,
  no locks, no pricing, no throttle, no cache writes, no serializer on the way out: what is
  left of a hold when everything but writing it is taken away.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils import timezone
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

_BODY_FILE = os.environ.get("BENCH_CEILING_BODY")
BODY = Path(_BODY_FILE).read_bytes() if _BODY_FILE else b""
PRICE = Decimal("10.50")
_POLICY: dict[str, int] = {}


def seat_map(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return HttpResponse(BODY, content_type="application/json")


def _policy_id() -> int:
    """The price policy every Booking row names (read once per process)."""
    if "id" not in _POLICY:
        from boxoffice.booking.models import PricePolicy

        _POLICY["id"] = PricePolicy.objects.order_by("pk").values_list("pk", flat=True).first()
    return _POLICY["id"]


class HoldCeiling(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    def post(self, request: Request) -> HttpResponse:
        from boxoffice.booking.models import Booking, BookingSeat, SeatChange

        showtime_id = int(request.data["showtime"])
        seat_ids = sorted(int(s) for s in request.data["seats"])
        now = timezone.now()
        expires_at = now + timedelta(minutes=10)
        try:
            with transaction.atomic():
                booking = Booking.objects.create(
                    user_id=request.user.pk,
                    showtime_id=showtime_id,
                    status="pending",
                    expires_at=expires_at,
                    total=PRICE * len(seat_ids),
                    currency="usd",
                    price_policy_id=_policy_id(),
                    created_at=now,
                )
                BookingSeat.objects.bulk_create(
                    BookingSeat(
                        booking=booking,
                        showtime_id=showtime_id,
                        seat_id=seat_id,
                        tier="standard",
                        base_price=PRICE,
                        tier_factor=Decimal("1.00"),
                        time_factor=Decimal("1.00"),
                        price=PRICE,
                        is_live=True,
                        hold_expires_at=expires_at,
                    )
                    for seat_id in seat_ids
                )
                SeatChange.objects.create(showtime_id=showtime_id, seat_ids=seat_ids)
        except IntegrityError:
            return HttpResponse(
                json.dumps({"type": "client_error", "errors": [{"code": "seats_taken"}]}),
                status=409,
                content_type="application/json",
            )
        return JsonResponse({"id": booking.pk, "seats": seat_ids}, status=201)


urlpatterns = [
    path("api/v1/showtimes/<int:showtime_id>/seats/", seat_map),
    path("api/v1/bookings/", HoldCeiling.as_view()),
    path("", include("config.urls")),
]
if not BODY:  # no body given: the project's own seat map
    urlpatterns.pop(0)

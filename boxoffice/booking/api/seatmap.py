"""The seat map: the hottest read, served by a plain Django view with DRF for its errors."""

from __future__ import annotations

import threading
import time

from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from boxoffice.catalog.models import Tier
from boxoffice.core import http_cache
from boxoffice.core.errors import NotFound
from boxoffice.core.throttling import AnonThrottle, parse_rate
from boxoffice.schedule.models import Showtime

from .. import selectors


class SeatMapEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    row = serializers.CharField()
    number = serializers.IntegerField()
    # A field named like a Field attribute (the stubs see Field.label); DRF's metaclass moves
    # declared fields off the class, so nothing is shadowed at runtime.
    label = serializers.CharField()  # type: ignore[assignment]
    tier = serializers.ChoiceField(choices=Tier.choices)
    price = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.ChoiceField(choices=["available", "held", "booked"])
    kind = serializers.ChoiceField(
        choices=["standard", "wheelchair", "companion"],
        help_text="A wheelchair space, a companion seat (belongs to the space beside it) or a "
        "standard seat.",
    )
    x = serializers.IntegerField(help_text="Drawing column from the left, aisles included.")
    y = serializers.IntegerField(help_text="Drawing row from the front (0 nearest the screen).")
    reason = serializers.ChoiceField(
        choices=["blocked", "wheelchair_only", "companion_only"],
        required=False,
        help_text="Present only where a rule, not a sale, stops the seat being chosen: blocked "
        "(not for sale), wheelchair_only (held only with accessible: true), companion_only (held "
        "only with its wheelchair space or by that space's holder). The last two go away "
        "ACCESSIBLE_RELEASE_MINUTES before the show.",
    )


class SeatMapScreenSerializer(serializers.Serializer):
    width = serializers.IntegerField(help_text="Drawing columns, aisles included.")
    rows = serializers.IntegerField(help_text="Drawing rows.")
    position = serializers.ChoiceField(
        choices=["top"],
        help_text="Where the projection screen is drawn: top = above row y 0, spanning columns "
        "0 to width - 1.",
    )


class SeatMapSerializer(serializers.Serializer):
    showtime = serializers.IntegerField()
    currency = serializers.CharField(help_text="ISO 4217, lower case, like Stripe: usd.")
    version = serializers.IntegerField(
        help_text="The position in the show's seat-change stream this map reflects (the `id` "
        "of the live seat map's events: resume the stream from it with Last-Event-ID)."
    )
    screen = SeatMapScreenSerializer(help_text="The room's size and the screen's position.")
    seats = SeatMapEntrySerializer(many=True)


# With the database cache, counting every seat-map read in the shared cache is a write
# transaction per request (an INSERT for a client's first request in a window, then a SELECT
# and an UPDATE), more than the rest of the read put together (bench/README.md). So each process
# counts a client's reads in memory and adds them to the shared counter in batches of
# 1/THROTTLE_BATCH_DIVISOR of the rate: a client below that many reads per window and process
# never costs a write. The decision uses the shared count last seen plus this process's unsent
# reads, so a refusal is always deserved and one process alone counts exactly; the price is
# that a client spreading its reads over P processes can exceed the rate by up to
# P x (batch - 1) reads per window (600/minute, 5 processes: at most 145 more). Redis needs
# none of this: the count rides in the round trip that reads the version tokens anyway.
THROTTLE_BATCH_DIVISOR = 20
_BATCH_MAX_KEYS = 50_000


class _Batches:
    """This process's unsent counts: {key: [unsent, shared count last seen]}, one window."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window: tuple[int, int] | None = None
        self.counts: dict[str, list[int]] = {}

    def count(self, key: str, window: tuple[int, int], allowed: int, duration: int) -> int:
        """Count one read; return the estimated count in this window (shared + unsent)."""
        batch = max(1, allowed // THROTTLE_BATCH_DIVISOR)
        with self.lock:
            if window != self.window or len(self.counts) >= _BATCH_MAX_KEYS:
                self.window, self.counts = window, {}
            entry = self.counts.setdefault(key, [0, 0])
            entry[0] += 1
            if entry[0] < batch:
                return entry[0] + entry[1]
            unsent, entry[0] = entry[0], 0
        shared = _add(key, unsent, timeout=duration + 1)
        with self.lock:
            entry[1] = max(entry[1], shared)
            return entry[0] + entry[1]


def _add(key: str, amount: int, *, timeout: int) -> int:
    """Add ``amount`` to the shared counter ``key``; return its new value (as
    boxoffice.core.throttling.hit does for one)."""
    if cache.add(key, amount, timeout=timeout):
        return amount
    try:
        return cache.incr(key, amount)
    except ValueError:  # expired between add and incr
        cache.add(key, amount, timeout=timeout)
        return amount


_BATCHES = _Batches()


class SeatMapThrottle(AnonThrottle):
    """Per client address, at THROTTLE_ANON's rate, signed in or not: the seat map is public,
    and looking at who is signed in would cost a token decode or a session read."""

    def get_ident_key(self, request: Request, view: APIView | None) -> str | None:
        return self.get_ident(request)

    def count_and_get_many(self, request: Request, view: APIView | None, keys: list[str]) -> dict:
        if not isinstance(caches["default"], DatabaseCache):
            return super().count_and_get_many(request, view, keys)
        rate = self.get_rate()
        ident = self.get_ident_key(request, view) if rate else None
        if rate and ident is not None:
            allowed, duration = parse_rate(rate)
            now = time.time()
            window = int(now // duration)
            key = f"throttle:{self.scope}:{ident}:{window}"
            if _BATCHES.count(key, (duration, window), allowed, duration) > allowed:
                raise Throttled(wait=duration - (now % duration))
        return cache.get_many(keys)


def _seat_map_body(request: HttpRequest | Request, showtime_id: int) -> bytes:
    """Count the request and read the map's version tokens in one cache round trip, then
    answer from the seat-map cache whenever it is still true (see seatmap_cache). Raises
    Throttled or Showtime.DoesNotExist."""
    throttle = SeatMapThrottle()
    # On the fast path the request is Django's, not DRF's: SeatMapThrottle reads only its META
    # (DRF's get_ident), which both have.
    return selectors.seat_map_json(
        showtime_id,
        fetch=lambda keys: throttle.count_and_get_many(request, None, keys),  # type: ignore[arg-type]
    )


class SeatMapView(APIView):
    """The hottest read: see :func:`seat_map` for how requests reach it."""

    openapi_tags = ["bookings"]
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []  # counted with the cache read, in _seat_map_body
    openapi_throttled = True  # so the schema documents its 429

    @extend_schema(
        summary="A show's seat map: every seat with its price and status",
        description=(
            "Every seat of the show's screen, rows in natural order (A..Z, AA..), with its "
            "price and status (available, held, booked), in one object, never paginated. "
            "A hold that lapsed reads available at once. `version` is the stream position: "
            "follow changes live from there with `GET .../seats/events/`. Public; throttled "
            "per client address."
        ),
        responses={200: SeatMapSerializer},
    )
    def get(self, request: Request, showtime_id: int) -> HttpResponse:
        try:
            body = _seat_map_body(request, showtime_id)
        except Showtime.DoesNotExist:
            raise NotFound("No such showtime.") from None
        return http_cache.revalidated_json(request, showtime_id, body)


_seat_map_view = SeatMapView.as_view()


@csrf_exempt
def seat_map(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """The URL's view. A plain GET that is neither throttled nor for an unknown show is served
    here without DRF's request wrapping and content negotiation (about a tenth of the request's
    cost, measured in bench/); everything else (other methods, 404, 429, 503) goes through
    SeatMapView, so errors keep the API's standard shape. The schema documents SeatMapView."""
    if request.method == "GET":
        try:
            # ETag (hashed once per new body) and 304 on If-None-Match; public, no-cache.
            return http_cache.revalidated_json(
                request, showtime_id, _seat_map_body(request, showtime_id)
            )
        except (Throttled, Showtime.DoesNotExist, DatabaseError):
            pass  # SeatMapView answers these in the API's shape (429, 404, 503)
    return _seat_map_view(request, showtime_id=showtime_id)


# drf-spectacular documents URL callbacks that name their APIView class. (mypy allows no new
# attributes on a function, hence the ignores.)
seat_map.cls = SeatMapView  # type: ignore[attr-defined]
seat_map.initkwargs = {}  # type: ignore[attr-defined]

"""The live seat map for WSGI servers (``manage.py runserver``, a sync gunicorn, the test
server): the same protocol as :mod:`.asgi`, served by polling the feed from the request's own
thread. Each stream holds a thread, so it ends after LIVE_WSGI_STREAM_SECONDS and the client
reconnects (EventSource does so by itself, with ``Last-Event-ID``). ``scripts/serve`` runs the
ASGI server, where :mod:`.asgi` answers this path instead and streams hold no thread."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from boxoffice.booking.models import SeatChange
from boxoffice.core.errors import NotFound
from boxoffice.core.openapi import ErrorDoc
from boxoffice.schedule.models import Showtime

from . import feed, limits
from .limits import Lease


def _follow(showtime_id: int, last: int, first: bytes, lease: Lease) -> Iterator[bytes]:
    yield feed.retry_hint() + first
    seen = set(
        SeatChange.objects.filter(showtime_id=showtime_id, pk__lte=last)
        .filter(created_at__gte=timezone.now() - feed.REPLAY_SLACK)
        .values_list("pk", flat=True)
    )
    started = quiet_since = time.monotonic()
    lapse = feed.next_lapse(showtime_id)
    while time.monotonic() - started < settings.LIVE_WSGI_STREAM_SECONDS:
        time.sleep(settings.LIVE_POLL_SECONDS)
        if lease.due():
            lease.renew()
        if lapse is not None and lapse <= timezone.now():
            feed.tidy_lapsed(showtime_id)
        rows = [
            row
            for row in SeatChange.objects.filter(showtime_id=showtime_id)
            .filter(Q(pk__gt=last) | Q(created_at__gte=timezone.now() - feed.REPLAY_SLACK))
            .order_by("pk")
            .values_list("pk", "seat_ids")
            if row[0] not in seen
        ]
        for change_id, seat_ids in rows:
            seen.add(change_id)
            last = max(last, change_id)
            if seat_ids is None:
                _, body = feed.snapshot_body(showtime_id)
                yield feed.frame("snapshot", body, last)
            else:
                yield feed.frame("seats", feed.statuses(showtime_id, seat_ids), last)
        if rows:
            lapse = feed.next_lapse(showtime_id)
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= settings.LIVE_HEARTBEAT_SECONDS:
            yield feed.HEARTBEAT
            quiet_since = time.monotonic()


class _Releasing:
    """The stream's iterator, which frees the stream's slot when the server closes the response
    (also when it never started iterating it)."""

    def __init__(self, stream: Iterator[bytes], lease: Lease) -> None:
        self.stream = stream
        self.lease = lease

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        return next(self.stream)

    def close(self) -> None:
        try:
            close = getattr(self.stream, "close", None)
            if close is not None:
                close()
        finally:
            self.lease.release()


class EventStreamRenderer(BaseRenderer):
    """Lets content negotiation accept ``Accept: text/event-stream`` (all a browser's
    EventSource sends). The stream itself is a StreamingHttpResponse; an error answered to
    such a client is rendered as JSON text, in the API's error shape."""

    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return JSONRenderer().render(data)


class SeatEventsView(APIView):
    openapi_tags = ["bookings"]
    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []  # each connect is counted by limits.admit
    openapi_throttled = True  # so the schema documents its 429
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        summary="A show's seat map, live (server-sent events)",
        description=(
            "`text/event-stream`. First an event `snapshot` whose data is the seat map object "
            "(as `GET .../seats/`) with `id:` its `version`; then an event `seats` per change, "
            "data `[{id, status}]` (the seats whose status changed), ids never decreasing. A "
            "hold that lapses by time is announced within about 2 s. Reconnect with the "
            "`Last-Event-ID` header to get the changes since (or a new `snapshot` when they "
            "are too old; so does a value that is not a plain decimal id). A comment line every "
            "15 s keeps proxies from closing the stream. Changes made through any server "
            "process or host reach every stream. Public; each connect is throttled per client "
            "address, and one address may hold LIVE_MAX_STREAMS_PER_CLIENT streams open."
        ),
        parameters=[
            OpenApiParameter(
                "Last-Event-ID",
                OpenApiTypes.INT,
                OpenApiParameter.HEADER,
                required=False,
                description="The last event id received, to resume after a reconnect.",
            )
        ],
        responses={
            # The schema of one event (as schemathesis and OpenAPI 3.2's itemSchema read it).
            (200, "text/event-stream"): OpenApiResponse(
                response={
                    "type": "object",
                    "properties": {
                        "event": {"type": "string", "example": "seats"},
                        "id": {"type": "string", "example": "42"},
                        "data": {
                            "type": "string",
                            "description": "JSON: the seat map object (`snapshot`) or "
                            "`[{id, status}]` (`seats`).",
                        },
                        "retry": {"type": "integer"},
                    },
                    "required": ["data"],
                },
                description="The event stream, one event at a time.",
            ),
            429: ErrorDoc(
                ["throttled", "too_many_streams"],
                "Every connect counts against the client address's rate (`throttled`), and one "
                "address may hold LIVE_MAX_STREAMS_PER_CLIENT open streams (default 20, across "
                "every server process; `too_many_streams`: close one first). Retry after "
                "`Retry-After` seconds.",
                retry_after=True,
            ),
        },
    )
    def get(self, request: Request, showtime_id: int) -> StreamingHttpResponse:
        lease = limits.admit(request)  # before any database work
        try:
            resume_from = feed.resume_position(request.headers.get("Last-Event-ID"))
            last, first = feed.first_event(showtime_id, resume_from)
        except Showtime.DoesNotExist:
            lease.release()
            raise NotFound("No such showtime.") from None
        except BaseException:
            lease.release()
            raise
        response = StreamingHttpResponse(
            _Releasing(_follow(showtime_id, last, first, lease), lease),
            content_type="text/event-stream; charset=utf-8",
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

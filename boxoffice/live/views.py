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
from boxoffice.schedule.models import Showtime

from . import feed


def _follow(showtime_id: int, resume_from: int) -> Iterator[bytes]:
    yield feed.retry_hint()
    delta = feed.changes_after(showtime_id, resume_from) if resume_from else None
    if delta is None:
        last, frame = feed.snapshot(showtime_id)
        yield frame
    elif delta.seat_ids is None:
        version, body = feed.snapshot_body(showtime_id)
        last = max(delta.newest, version)
        yield feed.frame("snapshot", body, last)
    else:
        last = delta.newest
        yield feed.frame("seats", feed.statuses(showtime_id, delta.seat_ids), last)

    seen = set(
        SeatChange.objects.filter(showtime_id=showtime_id, pk__lte=last)
        .filter(created_at__gte=timezone.now() - feed.REPLAY_SLACK)
        .values_list("pk", flat=True)
    )
    started = quiet_since = time.monotonic()
    lapse = feed.next_lapse(showtime_id)
    while time.monotonic() - started < settings.LIVE_WSGI_STREAM_SECONDS:
        time.sleep(settings.LIVE_POLL_SECONDS)
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
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        summary="A show's seat map, live (server-sent events)",
        description=(
            "`text/event-stream`. First an event `snapshot` whose data is the seat map object "
            "(as `GET .../seats/`) with `id:` its `version`; then an event `seats` per change, "
            "data `[{id, status}]` (the seats whose status changed), ids never decreasing. A "
            "hold that lapses by time is announced within about 2 s. Reconnect with the "
            "`Last-Event-ID` header to get the changes since (or a new `snapshot` when they "
            "are too old). A comment line every 15 s keeps proxies from closing the stream. "
            "Changes made through any server process or host reach every stream."
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
            )
        },
    )
    def get(self, request: Request, showtime_id: int) -> StreamingHttpResponse:
        if not Showtime.objects.filter(pk=showtime_id).exists():
            raise NotFound("No such showtime.")
        header = request.headers.get("Last-Event-ID", "").strip()
        resume_from = int(header) if header.isdigit() and len(header) < 19 else 0
        response = StreamingHttpResponse(
            _follow(showtime_id, resume_from), content_type="text/event-stream; charset=utf-8"
        )
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response

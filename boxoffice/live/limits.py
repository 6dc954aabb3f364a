"""Who may open a live seat-map stream, under ASGI (:mod:`.asgi`) and WSGI (:mod:`.views`) alike.

- Every connect counts against the client address's throttle: THROTTLE_ANON, per address,
  signed in or not, exactly as the seat map (``GET .../seats/``) counts its reads, in the same
  counter as the address's other anonymous requests (the stream reads no credentials).
- One address holds at most LIVE_MAX_STREAMS_PER_CLIENT open streams, across every process
  and host. The address is the throttles' (DRF's ``get_ident``: REMOTE_ADDR, or
  X-Forwarded-For behind NUM_PROXIES proxies).

Open streams are counted as *leases* in the shared cache: one key per slot,
``live:lease:<address>:<n>`` for n below the cap. A stream takes a free slot with
``cache.add`` (atomic on every backend), renews it every third of LIVE_STREAM_LEASE_SECONDS
while it runs and deletes it when it ends. A process that dies with open streams cannot lock
their address out: its leases lapse within LIVE_STREAM_LEASE_SECONDS.

A connect costs one cache round trip on Redis (the throttle's count and the address's slots in
one pipeline, as the seat map's throttle reads its tokens) and one ``add``. A refused connect
does nothing else: no database work, the seat map is never read.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.exceptions import Throttled

from boxoffice.booking.api.seatmap import SeatMapThrottle

RETRY_SECONDS = 5  # the Retry-After of a refusal for too many open streams


class TooManyStreams(Throttled):
    """429: the address already has LIVE_MAX_STREAMS_PER_CLIENT streams open."""

    default_detail = "Too many open streams from this address; close one first."
    default_code = "too_many_streams"


@dataclass
class Lease:
    """One open stream's slot (``key`` None: the address is not counted)."""

    key: str | None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    renewed: float = field(default_factory=time.monotonic)

    def due(self) -> bool:
        """Whether the slot is to be renewed now (every third of the lease)."""
        lease = settings.LIVE_STREAM_LEASE_SECONDS
        return self.key is not None and time.monotonic() - self.renewed >= lease / 3

    def renew(self) -> None:
        """Keep the slot while the stream runs."""
        if self.key is None:
            return
        self.renewed = time.monotonic()
        lease = settings.LIVE_STREAM_LEASE_SECONDS
        if not cache.touch(self.key, lease):  # lapsed meanwhile (a long pause): take it again
            cache.add(self.key, self.token, timeout=lease)

    def release(self) -> None:
        """Free the slot (once; later calls do nothing)."""
        key, self.key = self.key, None
        if key is not None and cache.get(key) == self.token:
            cache.delete(key)


def client_request(scope: dict[str, Any]) -> HttpRequest:
    """What the throttles read of a request (REMOTE_ADDR and the headers), from an ASGI scope,
    as the WSGI adapter (a2wsgi) builds them for every other request of the same server."""
    request = HttpRequest()
    client = scope.get("client")
    if client:
        request.META["REMOTE_ADDR"] = client[0]
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = f"HTTP_{name}"
        value = raw_value.decode("latin-1")
        request.META[name] = f"{request.META[name]},{value}" if name in request.META else value
    return request


def admit(request: Any) -> Lease:
    """Count a connect and take a slot for its stream. Raises Throttled (429, ``throttled``)
    past the address's rate, TooManyStreams (429, ``too_many_streams``) past its open streams.
    ``request``: Django's or DRF's (only its META and headers are read)."""
    throttle = SeatMapThrottle()
    ident = throttle.get_ident(request)
    cap = settings.LIVE_MAX_STREAMS_PER_CLIENT
    if not ident or cap <= 0:
        if not throttle.allow_request(request, None):
            raise Throttled(wait=throttle.wait())
        return Lease(key=None)
    keys = [f"live:lease:{ident}:{n}" for n in range(cap)]
    taken = throttle.count_and_get_many(request, None, keys)
    lease = Lease(key=None)
    for key in keys:
        if key not in taken and cache.add(
            key, lease.token, timeout=settings.LIVE_STREAM_LEASE_SECONDS
        ):
            lease.key = key
            return lease
    raise TooManyStreams(wait=RETRY_SECONDS)

"""``Idempotency-Key`` for unsafe requests: a retry replays the first response.

- The same user, key and body within IDEMPOTENCY_TTL (24 hours): the stored response is
  replayed with the header ``Idempotent-Replayed: true``; nothing acts twice.
- The same key with a different method, path or body: 422, nothing done.
- The same key while the first request is still running: 409, nothing done; retry later
  (a first request that has not finished after 60 seconds is taken to have died).
- A first attempt that failed with a 5xx or an exception leaves no record, so a retry acts.
Keys are per user, at most 255 characters; older than the TTL they are forgotten.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .errors import Conflict, DomainError, Invalid, Unprocessable
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
IDEMPOTENCY_TTL = timedelta(hours=24)
# A request still "in flight" after this long died with its process; a retry may take over.
IN_FLIGHT_TIMEOUT = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


class KeyReused(Unprocessable):
    default_detail = "This Idempotency-Key was already used with a different request."
    default_code = "idempotency_key_reused"


def _fingerprint(request: Request) -> str:
    # Parsing here, before anything is claimed: a malformed body fails now with its own 400
    # (DRF would hand the view an empty body once a parse has failed).
    body: Any = request.data
    try:
        canonical = json.dumps(body, sort_keys=True, default=str)
    except (TypeError, ValueError):  # uploads and other bodies JSON cannot express
        canonical = repr(sorted(body.items())) if hasattr(body, "items") else repr(body)
    raw = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _claim(user_id: int, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the in-flight row; return the existing row instead if there is one. Rows past
    the TTL, and in-flight rows abandoned by a crashed process, are cleared first."""
    now = timezone.now()
    IdempotencyKey.objects.filter(user_id=user_id, key=key).filter(
        Q(created_at__lt=now - IDEMPOTENCY_TTL)
        | Q(state=IdempotencyKey.State.IN_FLIGHT, created_at__lt=now - IN_FLIGHT_TIMEOUT)
    ).delete()
    try:
        with transaction.atomic():
            IdempotencyKey.objects.create(user_id=user_id, key=key, fingerprint=fingerprint)
        return None
    except IntegrityError:
        return IdempotencyKey.objects.filter(user_id=user_id, key=key).first()


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an APIView/ViewSet method that handles an unsafe request."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return view_method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            raise Invalid(
                f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.", attr="idempotency_key"
            )
        fingerprint = _fingerprint(request)
        existing = _claim(request.user.pk, key, fingerprint)
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise KeyReused()
            if existing.state == IdempotencyKey.State.IN_FLIGHT:
                raise Conflict(
                    "A request with this Idempotency-Key is still being processed; retry shortly.",
                    code="idempotency_in_flight",
                )
            replay = Response(existing.response_body, status=existing.response_status)
            replay["Idempotent-Replayed"] = "true"
            return replay

        rows = IdempotencyKey.objects.filter(user_id=request.user.pk, key=key)
        try:
            response = view_method(self, request, *args, **kwargs)
        except (DomainError, APIException) as exc:
            if exc.status_code >= 500:
                rows.delete()
                raise
            # Client errors are answers too: replay them rather than act on a retry.
            response = self.handle_exception(exc)
        except BaseException:
            rows.delete()
            raise
        if response.status_code >= 500:
            rows.delete()
        else:
            rows.update(
                state=IdempotencyKey.State.DONE,
                response_status=response.status_code,
                response_body=json.loads(JSONRenderer().render(response.data) or b"null"),
            )
        return response

    return wrapper


def drop_old_keys() -> int:
    """Housekeeping: forget keys older than IDEMPOTENCY_TTL (their requests can no longer be
    replayed anyway)."""
    deleted, _ = IdempotencyKey.objects.filter(
        created_at__lt=timezone.now() - IDEMPOTENCY_TTL
    ).delete()
    return deleted

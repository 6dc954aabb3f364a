"""JSON log lines, each carrying the id of the request it belongs to.

``RequestIdMiddleware`` takes ``X-Request-ID`` from the client or the proxy (when it is a sane
token) or makes one, keeps it in a context variable for every log line written while the
request runs, and returns it in the response header.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # fullmatch: "$" would let a trailing "\n" in


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset on the way out: Django writes its own "django.request" lines (4xx, 5xx) after
        # the middleware returns, and they should carry the id too. It is cleared when the
        # response is closed (request_finished), and replaced by the next request anyway.
        request_id.set(rid)
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        return response


def _forget_request_id(**kwargs: object) -> None:
    request_id.set("-")


request_finished.connect(_forget_request_id, dispatch_uid="boxoffice-forget-request-id")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id.get()),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)

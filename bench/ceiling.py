"""The seat-map benchmark's ceiling: a URLconf whose one view returns the seat map's bytes.

Served by ``bench.ceiling_settings`` (the project's settings with only ROOT_URLCONF changed)
under the same gunicorn flags as the application, so a request passes the same middleware stack
and the same WSGI server; only the work of the real view is missing. The bytes are those the
real endpoint returned, read once from the file named by BENCH_CEILING_BODY.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.urls import path

BODY = Path(os.environ["BENCH_CEILING_BODY"]).read_bytes()


def seat_map(request: HttpRequest, showtime_id: int) -> HttpResponse:
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [path("api/v1/showtimes/<int:showtime_id>/seats/", seat_map)]

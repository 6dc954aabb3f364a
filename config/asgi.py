"""ASGI entry point (``scripts/serve`` runs it under gunicorn with uvicorn workers).

One application, two kinds of request:
- the live seat map streams (``GET /api/v1/showtimes/{id}/seats/events/``) are coroutines
  (boxoffice.live.asgi): a thousand open streams hold no thread;
- everything else is the Django application as WSGI, run in a pool of WEB_THREADS threads
  (a2wsgi), exactly as under a threaded WSGI server: sync views are not funnelled through
  Django's single-thread ASGI adapter, so they are not slower than under gunicorn's gthread.
"""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from a2wsgi import WSGIMiddleware
from django.core.wsgi import get_wsgi_application

django_wsgi = get_wsgi_application()

from boxoffice.live.asgi import matches, stream_seat_map  # noqa: E402

# Django's handler returns an HttpResponse, which is the iterable of bytes WSGI wants; the
# stubs type it by its class, not by that protocol.
_wsgi = WSGIMiddleware(
    django_wsgi,  # type: ignore[arg-type]
    workers=int(os.environ.get("WEB_THREADS", "8")),
)


async def application(scope: Any, receive: Any, send: Any) -> None:
    showtime_id = matches(scope)
    if showtime_id is not None:
        await stream_seat_map(scope, receive, send, showtime_id)
        return
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    await _wsgi(scope, receive, send)

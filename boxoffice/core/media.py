"""Uploaded media (movie posters) served by the application, in production as in development.

``GET``/``HEAD`` of ``MEDIA_URL`` + a path answers the file under ``MEDIA_ROOT``, and nothing
else: a path that leaves ``MEDIA_ROOT`` (``..``, an absolute path, a symbolic link pointing
out), a directory, a missing file or a file that is not an image by its extension (the
uploads are validated JPEG, PNG or WebP posters) is a 404. Answers carry the image's content
type, ``Content-Length``, an ``ETag`` (modification time and size) and ``Last-Modified``, with
304 on ``If-None-Match``/``If-Modified-Since``, and ``Cache-Control: public,
max-age=MEDIA_CACHE_SECONDS``. ``MEDIA_SERVE=0`` leaves media to a web server or CDN in front.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.urls import URLPattern, re_path
from django.utils._os import safe_join
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}


def _file_under_root(path: str) -> Path:
    """The file ``path`` names under MEDIA_ROOT (links resolved), or Http404."""
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        target = Path(safe_join(root, path)).resolve()
    except (SuspiciousFileOperation, ValueError, OSError):
        raise Http404("No such file.") from None
    if not target.is_relative_to(root) or target.suffix.lower() not in CONTENT_TYPES:
        raise Http404("No such file.")
    return target


@require_safe
def serve(request: HttpRequest, path: str) -> HttpResponseBase:
    target = _file_under_root(path)
    try:
        handle = target.open("rb")
    except OSError:  # missing, a directory, unreadable
        raise Http404("No such file.") from None
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise Http404("No such file.")
    headers = {
        "ETag": f'"{info.st_mtime_ns:x}-{info.st_size:x}"',
        "Last-Modified": http_date(info.st_mtime),
        "Cache-Control": f"public, max-age={settings.MEDIA_CACHE_SECONDS}",
    }
    conditional = get_conditional_response(
        request, etag=headers["ETag"], last_modified=int(info.st_mtime)
    )
    if conditional is not None:  # 304 (or 412): the file is not sent
        handle.close()
        for name, value in headers.items():
            conditional[name] = value
        return conditional
    response = FileResponse(handle, content_type=CONTENT_TYPES[target.suffix.lower()])
    response["Content-Length"] = str(info.st_size)
    for name, value in headers.items():
        response[name] = value
    return response


def urlpatterns() -> list[URLPattern]:
    """The media route, when the application serves media (MEDIA_SERVE) and MEDIA_URL is a
    path of this site (not a CDN's URL)."""
    prefix = settings.MEDIA_URL
    if not settings.MEDIA_SERVE or not prefix or "://" in prefix or prefix.startswith("//"):
        return []
    return [re_path(rf"^{prefix.strip('/')}/(?P<path>.+)$", serve, name="media")]

"""HTTP caching headers for reads: ``Cache-Control``, ``ETag`` and 304 on ``If-None-Match``.

- Catalog and schedule reads are the same for everyone: an anonymous request's answer is
  ``public`` with a short ``max-age`` (``PUBLIC_CACHE_SECONDS``, default 30: a showtime's
  ``seats_available`` may lag that long in a cache; the seat map is the live answer). A signed-in
  request's answer is ``private, no-cache``, so an admin reading back their own write is never
  served an older copy; ``Vary: Authorization, Cookie`` keeps shared caches from mixing the two.
- User-specific answers (bookings) are always ``private, no-cache``: never stored by a shared
  cache, revalidated by the browser.

Either way the answer carries a strong ``ETag`` (a hash of its body) and a matching
``If-None-Match`` gets ``304 Not Modified`` without the body. Only 200 answers to GET and HEAD
are touched.

The seat map (:func:`revalidated_json`) is public but live: ``public, no-cache``, so every use
revalidates, and an unchanged map costs a 304 without its body.
"""

from __future__ import annotations

import hashlib
from typing import Any, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotModified
from django.utils.cache import get_conditional_response, patch_vary_headers, set_response_etag
from rest_framework.request import Request

PUBLIC = "public"
PRIVATE = "private"


def public_max_age() -> int:
    return int(getattr(settings, "PUBLIC_CACHE_SECONDS", 30))


def apply(request: Request, response: HttpResponseBase, *, scope: str) -> HttpResponseBase:
    """Cache headers, ETag and the 304 for one answer (see the module's docstring)."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if getattr(response, "streaming", False):
        return response
    if scope == PUBLIC:
        patch_vary_headers(response, ("Authorization", "Cookie"))
        if request.user.is_authenticated:
            response["Cache-Control"] = "private, no-cache"
        else:
            response["Cache-Control"] = f"public, max-age={public_max_age()}"
    else:
        response["Cache-Control"] = "private, no-cache"
    render = getattr(response, "render", None)
    if callable(render):
        render()  # DRF renders after finalize_response; the ETag needs the bytes now
    set_response_etag(response)
    etag = response.get("ETag")
    if etag is None:  # an empty body has none
        return response
    django_request: HttpRequest = getattr(request, "_request", request)
    # Only a 200 reaches here, an HttpResponse; the stubs type the argument by that class.
    answer = get_conditional_response(
        django_request, etag=etag, response=cast(HttpResponse, response)
    )
    return answer if answer is not None else response


class CacheHeadersMixin:
    """For DRF views: ``cache_scope`` is :data:`PUBLIC` (catalog, schedule) or :data:`PRIVATE`
    (answers that depend on who asks)."""

    cache_scope = PUBLIC

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Mixed in before APIView, whose finalize_response mypy cannot see from here.
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        return apply(request, response, scope=self.cache_scope)


# {key: (body, etag)}: the ETag of the body last answered under ``key``, so the hottest read
# (the seat map, served from a cache that hands back the same bytes object while it is true)
# hashes each new body once per process, not once per request.
_ETAGS: dict[object, tuple[bytes, str]] = {}
_ETAGS_MAX = 4000


def etag_for(key: object, body: bytes) -> str:
    """A strong ETag for ``body`` (a hash of its bytes, so it changes with every change of the
    answer: a seat's status, its price, a hold lapsing by time)."""
    entry = _ETAGS.get(key)
    if entry is not None and entry[0] is body:
        return entry[1]
    etag = f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'
    if len(_ETAGS) >= _ETAGS_MAX:
        _ETAGS.clear()
    _ETAGS[key] = (body, etag)
    return etag


def _none_match(header: str, etag: str) -> bool:
    """Whether ``If-None-Match: header`` names ``etag`` (weak comparison, as for GET)."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def revalidated_json(request: HttpRequest, key: object, body: bytes) -> HttpResponse:
    """A public JSON answer that caches must revalidate (``public, no-cache``) with its ETag:
    200 with ``body``, or 304 without it when ``If-None-Match`` names the ETag."""
    etag = etag_for(key, body)
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if header is not None and _none_match(header, etag):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="application/json")
    response["ETag"] = etag
    response["Cache-Control"] = "public, no-cache"
    return response

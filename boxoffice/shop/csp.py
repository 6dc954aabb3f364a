"""The shop pages' Content-Security-Policy: scripts only from our own origin and the one
Stripe.js origin (no inline scripts, no eval), styles from our own files, nothing framed
except Stripe's card fields.

Stripe.js comes from ``STRIPE_JS_URL`` when set; otherwise it is derived from
``STRIPE_API_BASE`` (localstripe serves its Stripe.js mock at ``<base>/js.stripe.com/v3/``),
and without either it is Stripe's own ``https://js.stripe.com/v3/``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

STRIPE_JS = "https://js.stripe.com/v3/"


def stripe_js_url() -> str:
    explicit = getattr(settings, "STRIPE_JS_URL", "")
    if explicit:
        return explicit
    base = settings.STRIPE_API_BASE.rstrip("/")
    return f"{base}/js.stripe.com/v3/" if base else STRIPE_JS


def is_stripe_emulator() -> bool:
    """Development and tests: Stripe is localstripe (its Stripe.js mock, test keys only)."""
    return bool(settings.STRIPE_API_BASE) and settings.STRIPE_SECRET_KEY.startswith("sk_test_")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def policy() -> str:
    script = _origin(stripe_js_url())
    api = (
        _origin(settings.STRIPE_API_BASE) if settings.STRIPE_API_BASE else "https://api.stripe.com"
    )
    frames = script if settings.STRIPE_API_BASE else f"{script} https://hooks.stripe.com"
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {script}",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src 'self' {' '.join(dict.fromkeys([api, script]))}",
            f"frame-src {frames}",
            "media-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def with_csp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Set the shop's policy on a page's response (only the shop's views use it)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = policy()
        return response

    return wrapped

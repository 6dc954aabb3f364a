"""Fixtures for payment and email tests: our webhook registered in localstripe (which delivers
events to a live server), a real SMTP server (aiosmtpd), and a way to run the worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from boxoffice.booking.models import Booking
from tests.support.smtp import Inbox, SmtpServer
from tests.support.stripe import lose_webhooks, register_webhook
from tests.support.tasks import run_worker


@pytest.fixture
def smtp_server(settings) -> Iterator[tuple[Inbox, int]]:  # type: ignore[no-untyped-def]
    """A real SMTP server on a free port; the app's default mailer points at it."""
    server = SmtpServer()
    server.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": server.port, "timeout": 5},
        }
    }
    try:
        yield server.inbox, server.port
    finally:
        server.stop()


@pytest.fixture
def stripe_webhook(live_server, localstripe, settings) -> str:  # type: ignore[no-untyped-def]
    """Register our webhook endpoint (on the live server) with localstripe."""
    url = f"{live_server.url}/api/v1/payments/stripe/webhook/"
    register_webhook(localstripe, url, settings.STRIPE_WEBHOOK_SECRET)
    return url


@pytest.fixture
def worker() -> Callable[[], None]:
    return run_worker


def booking_status(booking_id: int) -> str:
    return Booking.objects.values_list("status", flat=True).get(pk=booking_id)


@pytest.fixture
def no_webhook(localstripe, settings) -> None:  # type: ignore[no-untyped-def]
    """localstripe's deliveries go nowhere, as if every webhook were lost (real Stripe retries
    for up to three days, which is what reconciliation stands in for here)."""
    lose_webhooks(localstripe, settings.STRIPE_WEBHOOK_SECRET)

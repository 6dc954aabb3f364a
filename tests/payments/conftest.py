"""Fixtures for payment and email tests: our webhook registered in localstripe (which delivers
events to a live server), a real SMTP server (aiosmtpd), and a way to run the worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message

import pytest
import requests
from django.core.management import call_command

from boxoffice.booking.models import Booking


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server(settings) -> Iterator[tuple[Inbox, int]]:  # type: ignore[no-untyped-def]
    """A real SMTP server on a free port; the app's default mailer points at it."""
    from aiosmtpd.controller import Controller

    from tests.conftest import _free_port

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def stripe_webhook(live_server, localstripe, settings) -> str:  # type: ignore[no-untyped-def]
    """Register our webhook endpoint (on the live server) with localstripe."""
    url = f"{live_server.url}/api/v1/payments/stripe/webhook/"
    response = requests.post(
        f"{localstripe}/_config/webhooks/boxoffice",
        data={"url": url, "secret": settings.STRIPE_WEBHOOK_SECRET},
        timeout=5,
    )
    response.raise_for_status()
    return url


def run_worker() -> None:
    """Run every queued task that is due, as `manage.py worker` would, then return."""
    call_command(
        "db_worker", batch=True, startup_delay=False, interval=0, reload=False, verbosity=0
    )


@pytest.fixture
def worker() -> Callable[[], None]:
    return run_worker


def wait_for(predicate: Callable[[], bool], *, timeout: float = 15.0) -> None:
    """Poll for something another process does (localstripe delivers webhooks ~1 s later)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def booking_status(booking_id: int) -> str:
    return Booking.objects.values_list("status", flat=True).get(pk=booking_id)


@pytest.fixture
def no_webhook(localstripe, settings) -> None:  # type: ignore[no-untyped-def]
    """Make localstripe's deliveries go nowhere, as if every webhook were lost. localstripe has
    no way to unregister one, so our id is pointed at a closed port instead (an earlier test may
    have registered it). localstripe never retries a failed delivery; real Stripe retries for
    up to three days, which is what reconciliation stands in for here."""
    from tests.conftest import _free_port

    response = requests.post(
        f"{localstripe}/_config/webhooks/boxoffice",
        data={
            "url": f"http://127.0.0.1:{_free_port()}/lost/",
            "secret": settings.STRIPE_WEBHOOK_SECRET,
        },
        timeout=5,
    )
    response.raise_for_status()

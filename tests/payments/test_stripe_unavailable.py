"""Stripe unreachable, or refusing, when a customer proceeds to pay. A hold never calls Stripe,
so holding works while Stripe is down; the pay step answers 503 with Retry-After (unreachable)
or 502 (refused), the hold is kept, and a retry once Stripe answers opens the payment."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from boxoffice.payments import gateway
from tests.support.net import closed_url

from .helpers import hold_only, intent_of

pytestmark = pytest.mark.django_db(transaction=True)


def seat_statuses(client, showtime) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        s["status"] for s in client.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    ]


@pytest.fixture
def stripe_down(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Point the stripe client at a port where nothing listens (restored by ``settings``)."""
    settings.STRIPE_API_BASE = closed_url("")
    gateway._client.cache_clear()
    yield
    gateway._client.cache_clear()


class _Refusing(BaseHTTPRequestHandler):
    """A Stripe that answers every request with a 400 invalid_request_error."""

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps(
            {"error": {"type": "invalid_request_error", "message": "Refused by the test."}}
        ).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stripe_refusing(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    gateway._client.cache_clear()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        gateway._client.cache_clear()


def test_holding_works_while_stripe_is_unreachable(customer_api, showtime, stripe_down):
    booking = hold_only(customer_api, showtime)
    assert booking["status"] == "pending"
    assert booking["payment"] is None
    assert seat_statuses(customer_api, showtime)[:2] == ["held", "held"]


def test_pay_while_stripe_is_unreachable_is_503_keeps_the_hold_and_a_retry_works(
    customer_api, showtime, localstripe, settings, stripe_down
):
    booking = hold_only(customer_api, showtime)
    # drf-standardized-errors reports every 5xx through got_request_exception (for Sentry and
    # the like), which Django's test client turns back into an exception unless told not to.
    customer_api.raise_request_exception = False
    url = f"/api/v1/bookings/{booking['id']}/pay/"

    response = customer_api.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) > 0
    error = response.json()["errors"][0]
    assert error["code"] == "payments_unavailable"
    assert "held" in error["detail"]

    # The hold is kept: the seats stay held, the booking pending, nothing offered for payment.
    assert seat_statuses(customer_api, showtime)[:2] == ["held", "held"]
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "pending"
    assert detail["payment"] is None
    assert not intent_of(booking["id"])

    # Stripe is back: the client's retry (same Idempotency-Key) acts, it is not a replay of
    # the 503, and opens the payment for the same hold.
    settings.STRIPE_API_BASE = localstripe
    gateway._client.cache_clear()
    retry = customer_api.post(url, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert retry.status_code == 200, retry.content
    assert "Idempotent-Replayed" not in retry.headers
    assert retry.json()["client_secret"]
    assert customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()["payment"] == (
        retry.json()
    )
    # Still the same hold: not released, not extended.
    after = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert after["expires_at"] == booking["expires_at"]
    assert after["seats"] == booking["seats"]
    assert seat_statuses(customer_api, showtime)[:2] == ["held", "held"]


def test_pay_refused_by_stripe_is_502_and_keeps_the_hold(
    customer_api, showtime, localstripe, settings, stripe_refusing
):
    booking = hold_only(customer_api, showtime)
    customer_api.raise_request_exception = False

    response = customer_api.post(f"/api/v1/bookings/{booking['id']}/pay/")
    assert response.status_code == 502, response.content
    assert response.json()["errors"][0]["code"] == "payment_refused"
    assert seat_statuses(customer_api, showtime)[:2] == ["held", "held"]
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "pending"
    assert detail["payment"] is None

    settings.STRIPE_API_BASE = localstripe
    gateway._client.cache_clear()
    retry = customer_api.post(f"/api/v1/bookings/{booking['id']}/pay/")
    assert retry.status_code == 200, retry.content


def test_a_failed_pay_step_blocks_nobody_else(customer_api, other_customer, showtime, stripe_down):
    from tests.conftest import bearer

    booking = hold_only(customer_api, showtime, n=1)
    customer_api.raise_request_exception = False
    assert customer_api.post(f"/api/v1/bookings/{booking['id']}/pay/").status_code == 503
    # Another customer holds other seats meanwhile; the failed attempt held nothing more.
    theirs = hold_only(bearer(other_customer), showtime, n=1)
    assert theirs["seats"] != booking["seats"]
    assert seat_statuses(customer_api, showtime)[:3] == ["held", "held", "available"]

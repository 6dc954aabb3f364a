"""No secret or token in any log line.

Everything logged while a whole session runs (sign-up, sign-in, tokens, refresh, a paid booking,
webhooks good and bad, a refund while Stripe is down, throttling, forged tokens) is captured at
DEBUG, both as records (message, args, extras, exception text) and as the production JSON
lines; none may contain a password, a token, a client_secret or a key.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from boxoffice.core.logging import JsonFormatter, RequestIdFilter
from tests.conftest import PASSWORD
from tests.payments.helpers import hold, intent_of, pay, post_event, sign
from tests.payments.helpers import services as payment_services
from tests.support.auth import csrf_header
from tests.support.net import free_port
from tests.support.stripe import lose_webhooks
from tests.support.tasks import run_worker

from .helpers import LOGIN, LOGOUT, ME, REFRESH, TOKEN

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Unseen-Passphrase-4711-zebra"
WRONG_PASSWORD = "Wrong-Guess-0815-walrus"


@pytest.fixture
def captured(caplog) -> Iterator[tuple[pytest.LogCaptureFixture, io.StringIO]]:  # type: ignore[no-untyped-def]
    """caplog at DEBUG on the root logger, plus the JSON formatter as production runs it."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield caplog, stream
    finally:
        root.removeHandler(handler)


def _record_text(record: logging.LogRecord) -> str:
    """Everything a handler could write out of a record."""
    parts = [str(record.msg), record.getMessage(), repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    standard = set(vars(logging.makeLogRecord({})))
    parts.extend(repr(v) for k, v in vars(record).items() if k not in standard)
    return "\n".join(parts)


def _session(api: APIClient, showtime, secrets: set[str]) -> None:  # type: ignore[no-untyped-def]
    """One customer's whole journey, collecting every secret it sees."""
    register = api.post(
        "/api/v1/auth/register/",
        {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD},
        format="json",
    )
    assert register.status_code == 201, register.content

    # a wrong password, then the cookie login
    browser = APIClient(enforce_csrf_checks=True)
    bad = browser.post(LOGIN, {"username": "carol", "password": WRONG_PASSWORD}, format="json")
    assert bad.status_code == 401
    assert (
        browser.post(LOGIN, {"username": "carol", "password": NEW_PASSWORD}, format="json")
    ).status_code == 200
    for name in ("access_token", "refresh_token", "csrftoken"):
        secrets.add(browser.cookies[name].value)

    # tokens for an API client, and a refresh by body and by cookie
    pair = api.post(TOKEN, {"username": "carol", "password": NEW_PASSWORD}, format="json").json()
    secrets.update(pair.values())
    rotated = api.post(REFRESH, {"refresh": pair["refresh"]}, format="json").json()
    secrets.update(rotated.values())
    reused = api.post(REFRESH, {"refresh": pair["refresh"]}, format="json")  # blacklisted now
    assert reused.status_code == 401
    no_csrf = browser.post(REFRESH)  # cookie refresh without the CSRF header
    assert no_csrf.status_code == 403
    by_cookie = browser.post(REFRESH, **csrf_header(browser))
    assert by_cookie.status_code == 200
    secrets.update(by_cookie.json().values())

    # a bad token, in the header and in the cookie
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}x")
    assert forged.get(ME).status_code == 401
    forged.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['refresh']}")
    assert forged.get(ME).status_code == 401

    # a booking with payment: the client_secret, then paid and confirmed
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {rotated['access']}")
    booking = hold(client, showtime, n=2)
    secrets.add(booking["payment"]["client_secret"])
    assert pay(booking["id"]) == "succeeded"
    payment_services.settle_payment_intent(intent_of(booking["id"]))
    # a second, still pending, whose secret is read back from the detail
    pending = hold(client, showtime, n=1)
    secrets.add(client.get(f"/api/v1/bookings/{pending['id']}/").json()["payment"]["client_secret"])

    # webhooks: a bad signature, one signed with the wrong secret, and a good one for an unknown
    # intent (logged as an error by the app)
    event = json.dumps(
        {
            "id": "evt_logtest",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_logtest_unknown", "object": "payment_intent"}},
        }
    )
    assert post_event(api, event, signature="t=1,v1=deadbeef").status_code == 400
    assert post_event(api, event, signature=sign(event, secret="whsec_wrong")).status_code == 400
    assert post_event(api, event).status_code == 200

    # cancel the paid booking while Stripe is unreachable: the refund is deferred (logged),
    # and the worker's retry fails too (logged with the exception text)
    base = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    try:
        cancelled = client.post(f"/api/v1/bookings/{booking['id']}/cancel/")
        assert cancelled.status_code == 200, cancelled.content
        run_worker()
    finally:
        settings.STRIPE_API_BASE = base

    # a throttled sign-in
    for _ in range(4):
        api.post(LOGIN, {"username": "carol", "password": WRONG_PASSWORD}, format="json")

    # sign out
    assert browser.post(LOGOUT, **csrf_header(browser)).status_code == 204


@pytest.mark.django_db(transaction=True)  # the worker closes its connections, as in production
def test_no_secret_or_token_in_any_log_line(api, captured, showtime, settings, localstripe):
    caplog, stream = captured
    # This test delivers its events itself. localstripe's own delivery of the payment would go
    # to the live server an earlier test of this worker registered, where it can land while
    # STRIPE_API_BASE points nowhere (below): its 503 is reported through Django's
    # got_request_exception, which the test client of this thread re-raises as its own.
    lose_webhooks(localstripe, settings.STRIPE_WEBHOOK_SECRET)
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "login_username": "3/hour"}
    settings.REST_FRAMEWORK = rest
    secrets: set[str] = {
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        settings.SECRET_KEY,
        settings.SIMPLE_JWT["SIGNING_KEY"],
        settings.STRIPE_SECRET_KEY,
        settings.STRIPE_WEBHOOK_SECRET,
    }
    _session(api, showtime, secrets)
    secrets = {s for s in secrets if s}
    assert len(secrets) >= 15  # the journey did see tokens and client secrets

    records = caplog.records
    lines = stream.getvalue().splitlines()
    # the capture is not vacuous: requests, payments and the worker did log
    names = {r.name for r in records}
    assert "django.request" in names, names
    assert any(n.startswith("boxoffice.payments") for n in names), names
    assert len(lines) >= len([r for r in records if r.levelno >= logging.DEBUG]) > 5

    for record in records:
        text = _record_text(record)
        for secret in secrets:
            assert secret not in text, f"{record.name}: {record.getMessage()[:200]}"
    for line in lines:
        entry = json.loads(line)
        assert set(entry) >= {"time", "level", "logger", "message", "request_id"}
        for secret in secrets:
            assert secret not in line, line[:300]
    # client secrets share a recognisable shape: none may appear, even one we did not see
    assert "_secret_" not in stream.getvalue()
    assert "_secret_" not in caplog.text


def test_loggers_that_would_print_secrets_stay_quiet():
    """The stripe client logs whole response bodies (client secrets included) at DEBUG, and
    Django logs SQL (refresh tokens are stored) at DEBUG: both must stay above DEBUG, whatever
    LOG_LEVEL the root logger gets."""
    assert logging.getLogger("stripe").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("django.db.backends").getEffectiveLevel() >= logging.INFO
    configured = settings.LOGGING["loggers"]
    assert logging.getLevelName(configured["stripe"]["level"]) >= logging.WARNING
    assert logging.getLevelName(configured["django.db.backends"]["level"]) >= logging.INFO


def test_log_lines_written_during_a_request_carry_its_id(api, captured):
    _caplog, stream = captured
    event = json.dumps(
        {
            "id": "evt_rid",
            "object": "event",
            "type": "payment_intent.succeeded",
            "created": int(time.time()),
            "data": {"object": {"id": "pi_rid_unknown", "object": "payment_intent"}},
        }
    )
    response = api.post(
        "/api/v1/payments/stripe/webhook/",
        data=event.encode(),
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(event),
        HTTP_X_REQUEST_ID="trace-me-123",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "trace-me-123"
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    ours = [e for e in entries if e["logger"].startswith("boxoffice.payments")]
    assert ours, entries
    assert all(e["request_id"] == "trace-me-123" for e in ours), ours


def test_a_hostile_request_id_never_reaches_a_log_line(api, captured):
    _caplog, stream = captured
    api.post(
        "/api/v1/payments/stripe/webhook/",
        data=b"{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign("{}"),
        HTTP_X_REQUEST_ID="abc\nERROR forged line",
    )
    text = stream.getvalue()
    assert "forged line" not in text
    for line in text.splitlines():
        json.loads(line)  # one JSON object per line: nothing was split by the header

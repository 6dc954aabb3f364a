"""Fuzzing from our own OpenAPI schema: every operation, as anonymous, customer and admin.

schemathesis generates requests from the live schema (served by the app itself) and calls the
WSGI app in-process. Every response must be a non-5xx that conforms to the schema: documented
status code, documented content type, body matching its schema.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from boxoffice.booking.services import create_hold
from config.wsgi import application


def _live_schema() -> dict:
    """The schema exactly as GET /api/schema/ serves it (same generator and settings)."""
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_live_schema())
schema.app = application  # requests go to the WSGI app in-process


@pytest.fixture(autouse=True)
def _keep_test_connection():  # type: ignore[no-untyped-def]
    """Requests go straight to the WSGI app, whose request signals would close the test's
    database connection (it is inside the test transaction); Django's own test client
    disconnects them the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def data(db, showtime, customer, admin_user):  # type: ignore[no-untyped-def]
    """Something for every operation to find: a show with seats and a customer's hold."""
    seat_ids = list(showtime.screen.seats.values_list("id", flat=True)[:2])
    create_hold(user=customer, showtime=showtime, seat_ids=seat_ids)


def _bearer(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@pytest.fixture
def unthrottled(settings):  # type: ignore[no-untyped-def]
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": dict.fromkeys(rates, "1000000/minute"),
    }


# What the issue asks of every response: no 5xx, and conformance to the schema (documented status,
# content type, headers, body). schemathesis' stricter "positive/negative data" heuristics are left
# out on purpose: our business rules (an empty seat list, a page past the end) rightly refuse
# requests the schema alone would allow.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    missing_required_header,
]

FUZZ = settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@FUZZ
def test_anonymous(case, unthrottled):  # type: ignore[no-untyped-def]
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_customer(case, customer, unthrottled):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=_bearer(customer), checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_admin(case, admin_user, unthrottled):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=_bearer(admin_user), checks=CHECKS)

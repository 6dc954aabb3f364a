"""Request bodies over a limit are refused with a JSON 400 and create nothing.

(The decompression bomb, wrong poster types and a POSTER_MAX_BYTES override are covered in
tests/catalog/test_posters.py; the genre body limit in tests/test_errors.py.)
"""

from __future__ import annotations

import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking
from tests.conftest import PASSWORD

from .helpers import BOOKINGS, LOGIN, assert_error

pytestmark = pytest.mark.django_db


def _padded_json(data: dict, size: int) -> str:
    """``data`` plus a filler field, as one JSON object of at least ``size`` bytes."""
    return json.dumps({**data, "filler": "x" * size})


def test_booking_body_above_the_limit_is_400_and_holds_nothing(customer_api, showtime):
    seat = customer_api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"][0]["id"]
    payload = _padded_json(
        {"showtime": showtime.pk, "seats": [seat]}, settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    )
    response = customer_api.post(BOOKINGS, data=payload, content_type="application/json")
    body = assert_error(response, 400)
    assert body["errors"][0]["code"] == "request_too_large"
    assert not Booking.objects.exists()
    # the same request below the limit goes through
    response = customer_api.post(
        BOOKINGS, {"showtime": showtime.pk, "seats": [seat]}, format="json"
    )
    assert response.status_code == 201, response.content


def test_register_body_above_the_limit_is_400_and_creates_nobody(api):
    payload = _padded_json(
        {"username": "big", "email": "big@example.com", "password": PASSWORD},
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
    )
    response = api.post("/api/v1/auth/register/", data=payload, content_type="application/json")
    assert_error(response, 400)
    assert not User.objects.filter(username="big").exists()


def test_login_body_above_the_limit_is_400_not_a_password_check(api, customer):
    payload = _padded_json(
        {"username": "alice", "password": PASSWORD}, settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    response = api.post(LOGIN, data=payload, content_type="application/json")
    assert_error(response, 400)
    assert "access_token" not in response.cookies


def test_a_multipart_text_field_above_the_limit_is_400(admin_api, movie):
    """The poster upload is the one multipart body: a text field beside the file above
    DATA_UPLOAD_MAX_MEMORY_SIZE is refused before the upload is stored."""
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = admin_api.put(
        f"/api/v1/movies/{movie.pk}/poster/", {"description": big}, format="multipart"
    )
    assert_error(response, 400)
    movie.refresh_from_db()
    assert not movie.poster


def test_forms_are_refused_before_any_parsing(api, customer):
    """Request bodies are JSON (multipart only for a movie's poster): a form is a 415 before
    Django parses a single field, however many it carries."""
    fields = "&".join(f"f{i}=1" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.post(
        "/api/v1/auth/register/",
        data=f"username=mallory&email=m%40example.com&password={PASSWORD}&{fields}",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415)
    assert not User.objects.filter(username="mallory").exists()
    response = api.post(
        LOGIN,
        data=f"username=alice&password={PASSWORD}&{fields}",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415)
    assert "access_token" not in response.cookies


@pytest.mark.parametrize(
    "path", ["/api/v1/bookings/", "/api/v1/auth/login/", "/api/v1/auth/register/"]
)
def test_json_nested_too_deeply_is_400_not_500(customer_api, path):
    """Python's decoder gives up on deep nesting with RecursionError; that must be a 400."""
    depth = 100_000
    response = customer_api.post(
        path, data="[" * depth + "]" * depth, content_type="application/json"
    )
    body = assert_error(response, 400)
    assert body["errors"][0]["code"] == "parse_error"


def test_poster_above_the_default_limit_is_400(admin_api, movie):
    """A real PNG just above POSTER_MAX_BYTES (the shipped default, not a test override)."""
    limit = settings.POSTER_MAX_BYTES
    buffer = io.BytesIO()
    Image.new("RGB", (60, 90), "red").save(buffer, format="PNG")
    # bytes after IEND are ignored by decoders: still a valid image, only too big
    content = buffer.getvalue() + b"\0" * (limit + 1 - len(buffer.getvalue()))
    assert len(content) == limit + 1
    upload = SimpleUploadedFile("poster.png", content, content_type="image/png")
    response = admin_api.put(
        f"/api/v1/movies/{movie.pk}/poster/", {"poster": upload}, format="multipart"
    )
    body = assert_error(response, 400)
    assert body["errors"][0]["attr"] == "poster"
    movie.refresh_from_db()
    assert not movie.poster


@pytest.mark.parametrize(
    "payload", ["{}", "[]", "null", '"text"', '{"id": 5, "type": "payment_intent.succeeded"}']
)
def test_a_signed_payload_that_is_not_an_event_is_400(api, payload):
    from boxoffice.payments.models import StripeEvent
    from tests.payments.helpers import post_event

    api.raise_request_exception = False
    response = post_event(api, payload)
    assert_error(response, 400)
    assert not StripeEvent.objects.exists()

"""A booking names its show, and once confirmed gives each ticket the URL of its QR image;
the seat map carries an ETag; user-specific answers are never cached publicly."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from boxoffice.booking import pricing, services
from boxoffice.booking.models import Ticket
from tests.conftest import bearer, future

from .helpers import BOOKINGS, seat_ids

pytestmark = pytest.mark.django_db


def confirmed(showtime, user, *labels):  # type: ignore[no-untyped-def]
    booking = services.create_hold(
        user=user, showtime=showtime, seat_ids=seat_ids(showtime, *labels)
    )
    services.record_payment(booking=booking, amount=booking.total)
    booking.refresh_from_db()
    return booking


def test_a_booking_names_its_show_on_the_theaters_clock(customer, customer_api, make_showtime):
    starts = future(days=3, hour=20, tz="Europe/Berlin")
    showtime = make_showtime(starts_at=starts)
    created = customer_api.post(
        BOOKINGS, {"showtime": showtime.pk, "seats": seat_ids(showtime, "C1")}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["show"] == {
        "movie": "Metropolis",
        "theater": "Odeon",
        "screen": "Screen 1",
        "starts_at": starts.isoformat(),
        "timezone": "Europe/Berlin",
    }
    assert body["show"]["starts_at"].endswith(("+01:00", "+02:00"))
    assert body["showtime"] == showtime.pk  # every earlier field is kept
    assert body["tickets"] == []
    detail = customer_api.get(f"{BOOKINGS}{body['id']}/").json()
    assert detail["show"] == body["show"]


def test_confirmed_tickets_carry_their_qr_url(customer, customer_api, showtime):
    booking = confirmed(showtime, customer, "C1", "C2")
    body = customer_api.get(f"{BOOKINGS}{booking.pk}/").json()
    assert body["status"] == "confirmed"
    codes = set(Ticket.objects.filter(booking_seat__booking=booking).values_list("code", flat=True))
    assert [t["seat"] for t in body["tickets"]] == ["C1", "C2"]
    for ticket in body["tickets"]:
        assert set(ticket) == {"seat", "code", "qr", "checked_in_at"}
        assert ticket["checked_in_at"] is None
        assert ticket["code"] in codes
        assert ticket["qr"] == (
            f"http://testserver/api/v1/bookings/{booking.pk}/tickets/{ticket['code']}/qr.png"
        )

    response = customer_api.get(body["tickets"][0]["qr"])
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private")
    assert "public" not in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"


def test_the_qr_is_for_the_owner_and_admins_only(
    customer, other_customer, admin_api, api, showtime
):
    booking = confirmed(showtime, customer, "D1")
    code = Ticket.objects.get(booking_seat__booking=booking).code
    url = f"{BOOKINGS}{booking.pk}/tickets/{code}/qr.png"

    assert admin_api.get(url).status_code == 200
    other = bearer(other_customer).get(url)
    assert other.status_code == 404
    assert other["Content-Type"] == "application/json"
    assert api.get(url).status_code == 401
    # An <img> asks for images: errors are still the API's JSON.
    assert bearer(other_customer).get(url, HTTP_ACCEPT="image/*").status_code == 404

    # A code of another booking, or none at all, is no ticket of this one.
    second = confirmed(showtime, other_customer, "D2")
    foreign = Ticket.objects.get(booking_seat__booking=second).code
    owner = bearer(customer)
    assert owner.get(f"{BOOKINGS}{booking.pk}/tickets/{foreign}/qr.png").status_code == 404
    assert owner.get(f"{BOOKINGS}{booking.pk}/tickets/BX-NOPE-NOPE/qr.png").status_code == 404
    assert owner.get(f"{BOOKINGS}999999/tickets/{code}/qr.png").status_code == 404


def test_a_cancelled_bookings_tickets_have_no_qr(customer, customer_api, showtime):
    booking = confirmed(showtime, customer, "D3")
    code = Ticket.objects.get(booking_seat__booking=booking).code
    assert customer_api.post(f"{BOOKINGS}{booking.pk}/cancel/").status_code == 200
    assert customer_api.get(f"{BOOKINGS}{booking.pk}/").json()["tickets"] == []
    assert customer_api.get(f"{BOOKINGS}{booking.pk}/tickets/{code}/qr.png").status_code == 404


def test_bookings_are_private_answers(customer, customer_api, showtime):
    booking = confirmed(showtime, customer, "B1")
    for url in (BOOKINGS, f"{BOOKINGS}{booking.pk}/"):
        response = customer_api.get(url)
        assert response.status_code == 200
        assert response["Cache-Control"] == "private, no-cache"
        again = customer_api.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304


def test_the_schema_documents_show_tickets_and_the_qr_image(api):
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    booking = components["Booking"]["properties"]
    assert "show" in booking
    assert "tickets" in booking
    ticket_ref = booking["tickets"]["items"]["$ref"].rsplit("/", 1)[1]
    assert set(components[ticket_ref]["properties"]) == {"seat", "code", "qr", "checked_in_at"}
    assert "checked_in_seats" in booking
    qr = schema["paths"]["/api/v1/bookings/{id}/tickets/{code}/qr.png"]["get"]
    # image/png first; the same bytes as application/octet-stream, which generated clients type.
    assert list(qr["responses"]["200"]["content"]) == ["image/png", "application/octet-stream"]
    for media in qr["responses"]["200"]["content"].values():
        assert media["schema"] == {"type": "string", "format": "binary"}


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (None, "image/png"),
        ("*/*", "image/png"),
        ("image/*", "image/png"),
        ("application/json", "image/png"),  # names neither: the image, as ever
        ("application/octet-stream", "application/octet-stream"),
        ("application/octet-stream, image/png;q=0.5", "application/octet-stream"),
        ("image/png, application/octet-stream", "image/png"),
    ],
)
def test_the_qr_answers_the_type_asked_for(customer, customer_api, showtime, accept, content_type):
    booking = confirmed(showtime, customer, "C3")
    code = Ticket.objects.get(booking_seat__booking=booking).code
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = customer_api.get(f"{BOOKINGS}{booking.pk}/tickets/{code}/qr.png", **headers)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert Image.open(io.BytesIO(response.content)).format == "PNG"


# --- Query counts ------------------------------------------------------------------------------


@pytest.fixture
def _local_memory_cache(settings):  # type: ignore[no-untyped-def]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    pricing.current_policy()
    yield
    cache.clear()


@pytest.mark.usefixtures("_local_memory_cache")
def test_the_booking_list_is_a_fixed_number_of_queries(customer, make_showtime):
    shows = [make_showtime(starts_at=future(days=d, hour=19)) for d in (1, 2, 3, 4, 5)]
    for show in shows:
        confirmed(show, customer, "A1", "A2")
        services.create_hold(user=customer, showtime=show, seat_ids=seat_ids(show, "C1"))
    client = bearer(customer)
    counts = []
    for size in (1, 10):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{BOOKINGS}?page_size={size}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- The seat map's ETag -----------------------------------------------------------------------


def test_the_seat_map_has_an_etag_and_answers_304(api, customer, showtime):
    url = f"/api/v1/showtimes/{showtime.pk}/seats/"
    first = api.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, no-cache"
    etag = first["ETag"]

    again = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api.get(url, HTTP_IF_NONE_MATCH=f'W/{etag}, "x"').status_code == 304

    # A hold changes the map, its version and its ETag.
    services.create_hold(user=customer, showtime=showtime, seat_ids=seat_ids(showtime, "A1"))
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert changed.json()["version"] > first.json()["version"]


def test_a_new_body_gets_a_new_etag_even_from_the_same_tokens(api, showtime):
    """A hold lapsing by time changes the body without any write: the ETag is the body's."""
    from boxoffice.core import http_cache

    one = http_cache.etag_for(showtime.pk, b'{"version":1,"seats":[1]}')
    two = http_cache.etag_for(showtime.pk, b'{"version":1,"seats":[2]}')
    assert one != two
    assert http_cache.etag_for(showtime.pk, b'{"version":1,"seats":[1]}') == one

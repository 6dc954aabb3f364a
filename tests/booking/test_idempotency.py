"""Idempotency-Key on unsafe booking requests: a retry replays the first answer."""

from __future__ import annotations

import pytest

from boxoffice.booking.models import Booking
from tests.conftest import bearer

from .helpers import BOOKINGS, error_attrs, hold_labels, live_rows, seat_ids

pytestmark = pytest.mark.django_db


def key(value: str) -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": value}


def test_same_key_and_body_replays_the_first_response(customer_api, showtime):
    first = hold_labels(customer_api, showtime, "A1", "A2", **key("k-1"))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers

    retry = hold_labels(customer_api, showtime, "A1", "A2", **key("k-1"))

    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json() == first.json()
    assert Booking.objects.count() == 1
    assert live_rows(showtime) == 2


def test_without_a_key_a_retry_acts_again(customer_api, showtime):
    assert hold_labels(customer_api, showtime, "A1").status_code == 201
    assert hold_labels(customer_api, showtime, "A1").status_code == 409


def test_same_key_other_body_is_422(customer_api, showtime):
    assert hold_labels(customer_api, showtime, "A1", **key("k-2")).status_code == 201

    other = hold_labels(customer_api, showtime, "B1", **key("k-2"))

    assert other.status_code == 422
    assert Booking.objects.count() == 1
    assert live_rows(showtime, seat_id=seat_ids(showtime, "B1")[0]) == 0


def test_same_key_on_another_endpoint_is_422(customer_api, showtime):
    created = hold_labels(customer_api, showtime, "A1", **key("k-3"))
    cancel = customer_api.post(f"{BOOKINGS}{created.json()['id']}/cancel/", **key("k-3"))
    assert cancel.status_code == 422
    assert Booking.objects.get().status == "pending"


def test_keys_belong_to_their_user(customer_api, other_customer, showtime):
    mine = hold_labels(customer_api, showtime, "A1", **key("shared"))
    theirs = hold_labels(bearer(other_customer), showtime, "A2", **key("shared"))

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert Booking.objects.count() == 2


def test_the_same_request_by_another_user_is_not_a_replay(customer_api, other_customer, showtime):
    mine = hold_labels(customer_api, showtime, "A1", **key("same"))
    assert mine.status_code == 201
    theirs = hold_labels(bearer(other_customer), showtime, "A1", **key("same"))
    # Bob gets his own answer (the seat is Alice's), never Alice's booking.
    assert theirs.status_code == 409
    assert "Idempotent-Replayed" not in theirs.headers


def test_a_409_is_replayed_too(customer_api, other_customer, showtime):
    blocker = hold_labels(bearer(other_customer), showtime, "A1").json()["id"]
    first = hold_labels(customer_api, showtime, "A1", **key("k-409"))
    assert first.status_code == 409
    # The seat becomes free; a retry with the same key still answers what the first did.
    assert bearer(other_customer).post(f"{BOOKINGS}{blocker}/cancel/").status_code == 200

    retry = hold_labels(customer_api, showtime, "A1", **key("k-409"))

    assert retry.status_code == 409
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert live_rows(showtime) == 0
    # A fresh key acts.
    assert hold_labels(customer_api, showtime, "A1", **key("k-new")).status_code == 201


def test_cancel_replays_too(customer_api, showtime):
    booking_id = hold_labels(customer_api, showtime, "A1").json()["id"]
    url = f"{BOOKINGS}{booking_id}/cancel/"
    first = customer_api.post(url, **key("c-1"))
    retry = customer_api.post(url, **key("c-1"))
    assert first.status_code == retry.status_code == 200  # not 409 "already cancelled"
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert customer_api.post(url, **key("c-2")).status_code == 409


def test_key_longer_than_255_is_400(customer_api, showtime):
    response = hold_labels(customer_api, showtime, "A1", **key("x" * 256))
    assert response.status_code == 400
    assert "idempotency_key" in error_attrs(response)
    assert Booking.objects.count() == 0
    assert hold_labels(customer_api, showtime, "A1", **key("x" * 255)).status_code == 201


def test_same_key_and_empty_body_on_another_booking_is_422_not_a_replay(customer_api, showtime):
    """Method and path are part of what a key stands for, not only the body."""
    first = hold_labels(customer_api, showtime, "A1").json()["id"]
    second = hold_labels(customer_api, showtime, "A2").json()["id"]
    assert customer_api.post(f"{BOOKINGS}{first}/cancel/", **key("k-cancel")).status_code == 200

    other = customer_api.post(f"{BOOKINGS}{second}/cancel/", **key("k-cancel"))

    assert other.status_code == 422
    assert Booking.objects.get(pk=second).status == "pending"


def test_a_key_still_in_flight_is_409_until_its_request_is_presumed_dead(
    customer, customer_api, showtime
):
    from datetime import timedelta

    from django.utils import timezone

    from boxoffice.core.idempotency import IN_FLIGHT_TIMEOUT
    from boxoffice.core.models import IdempotencyKey

    # The first request's row, as a request still running in another process leaves it.
    first = hold_labels(customer_api, showtime, "B1", **key("k-flight"))
    assert first.status_code == 201
    row = IdempotencyKey.objects.get(user=customer, key="k-flight")
    row.state = IdempotencyKey.State.IN_FLIGHT
    row.response_status = row.response_body = None
    row.save()

    retry = hold_labels(customer_api, showtime, "B1", **key("k-flight"))
    assert retry.status_code == 409
    assert retry.json()["errors"][0]["code"] == "idempotency_in_flight"

    # Past the timeout the first request is taken to have died, and the retry acts.
    IdempotencyKey.objects.filter(pk=row.pk).update(
        created_at=timezone.now() - IN_FLIGHT_TIMEOUT - timedelta(seconds=1)
    )
    taken_over = hold_labels(customer_api, showtime, "B1", **key("k-flight"))
    # It acted (B1 is the first request's seat, so it is refused as taken, not as in flight).
    assert taken_over.status_code == 409
    assert taken_over.json()["errors"][0]["code"] == "seats_unavailable"

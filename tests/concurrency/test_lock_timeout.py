"""A lock wait is bounded (PostgreSQL ``lock_timeout``, DB_LOCK_TIMEOUT_MS): when another
transaction keeps a row our request needs, the request gives up, changes nothing, and answers
503 ``lock_timeout`` with Retry-After, instead of queueing for as long as the other lives.

Another connection (a thread) holds ``SELECT ... FOR UPDATE`` on the row in an open
transaction until the request has answered; then it lets go."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from boxoffice.booking.models import Booking, BookingSeat, BookingStatus
from tests.conftest import bearer
from tests.payments.helpers import confirmed_booking

from ..booking.helpers import error_codes, hold, seat_ids

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@contextmanager
def row_locked(sql: str, params: list[object]) -> Iterator[None]:
    """Run ``sql`` (a ``FOR UPDATE``) in another connection's open transaction for the block."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(sql, params)
                locked.set()
                release.wait(15)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        yield
    finally:
        release.set()
        thread.join(30)


def assert_lock_timeout(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 503, response.content
    assert int(response["Retry-After"]) >= 1
    assert error_codes(response) == ["lock_timeout"]


def test_a_hold_waiting_on_a_locked_show_answers_503_and_holds_nothing(
    showtime, customer, settings
):
    settings.DB_LOCK_TIMEOUT_MS = 300
    client = bearer(customer)
    client.raise_request_exception = False  # a 5xx is logged (and signalled) as a server error
    with row_locked("SELECT 1 FROM schedule_showtime WHERE id = %s FOR UPDATE", [showtime.pk]):
        answer = hold(client, showtime, seat_ids(showtime, "A1", "A2"))
    assert_lock_timeout(answer)
    assert not Booking.objects.exists()
    assert not BookingSeat.objects.exists()
    # Nothing stuck either: once the other transaction ended, the same hold goes through.
    assert hold(client, showtime, seat_ids(showtime, "A1", "A2")).status_code == 201


def test_a_cancel_waiting_on_a_locked_booking_answers_503_and_keeps_the_sale(
    showtime, customer, settings, localstripe
):
    settings.DB_LOCK_TIMEOUT_MS = 300
    client = bearer(customer)
    booking = confirmed_booking(client, showtime, 1)
    client.raise_request_exception = False
    with row_locked("SELECT 1 FROM booking_booking WHERE id = %s FOR UPDATE", [booking["id"]]):
        answer = client.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert_lock_timeout(answer)
    row = Booking.objects.get(pk=booking["id"])
    assert row.status == BookingStatus.CONFIRMED
    assert row.refunded_amount == 0
    assert BookingSeat.objects.filter(booking=row, is_live=True).count() == 1

"""Our row locks never hold up a commit that merely refers to the locked row (PostgreSQL).

Django's foreign keys are checked at COMMIT, with a key-share lock on each row referred to. A
full ``FOR UPDATE`` conflicts with it, so a transaction holding one on a customer or a booking
made every commit referring to that row wait, and when it waited in turn for that committer (a
seat it held), PostgreSQL killed one side: the mixed-activity race saw it. Our locks are
``FOR NO KEY UPDATE``; here a second transaction refers to the locked row and must commit
within its lock timeout while the lock is held. With ``FOR UPDATE`` it times out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction

from boxoffice.booking import locks, services
from boxoffice.booking.models import PricePolicy
from boxoffice.payments.models import Refund
from tests.conftest import make_user

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def commit_while_locked(lock: Callable[[], object], refer: Callable[[], object]) -> str:
    """Hold ``lock()`` in one transaction while another runs ``refer()`` and commits, with a
    lock timeout of 2 s; return "committed" or the error's name."""
    locked, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(10)
        outcome = "committed"
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                refer()
        except Exception as exc:
            outcome = type(exc).__name__
    finally:
        release.set()
        thread.join(10)
    return outcome


def test_a_locked_customer_does_not_hold_up_a_row_referring_to_them(customer):
    outcome = commit_while_locked(
        lambda: locks.lock_customer(customer),
        lambda: PricePolicy.objects.create(created_by=customer),
    )
    assert outcome == "committed"


def test_a_locked_booking_does_not_hold_up_a_row_referring_to_it(showtime, customer):
    seat = showtime.screen.seats.order_by("pk").first()
    booking = services.create_hold(user=make_user("dave"), showtime=showtime, seat_ids=[seat.pk])
    outcome = commit_while_locked(
        lambda: locks.lock_booking(booking.pk),
        lambda: Refund.objects.create(
            booking=booking, reason="test", amount=Decimal("1.00"), currency="eur"
        ),
    )
    assert outcome == "committed"

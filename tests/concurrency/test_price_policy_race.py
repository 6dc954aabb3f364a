"""The first price policy of a fresh database, asked for by two holds at once on PostgreSQL: the
second waits for the first's decision and both price with one policy. The guard is an advisory
lock, not a row lock: a ``FOR UPDATE`` on the policy's row, held for the rest of a hold,
deadlocked the first holds of a fresh database (their commits' foreign-key checks wait for it).
Without any guard each caller made its own policy (this test: 2 policies)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from boxoffice.booking import pricing
from boxoffice.booking.models import PricePolicy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_first_callers_share_one_policy():
    assert not PricePolicy.objects.exists()
    created, release = threading.Event(), threading.Event()
    ids: dict[str, int] = {}

    def first() -> None:  # creates the policy, then keeps its transaction open for a moment
        try:
            with transaction.atomic():
                ids["first"] = pricing.current_policy().pk
                created.set()
                release.wait(10)
        finally:
            connection.close()

    def second() -> None:
        try:
            with transaction.atomic():
                ids["second"] = pricing.current_policy().pk
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert created.wait(10)
    two = threading.Thread(target=second)
    two.start()
    two.join(0.5)  # the second waits for the first's decision (or, unguarded, makes its own)
    release.set()
    one.join(10)
    two.join(10)

    assert PricePolicy.objects.count() == 1
    assert ids["first"] == ids["second"]

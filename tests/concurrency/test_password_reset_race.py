"""One reset link used by five browsers at the same moment: exactly one sets the password.

Django's token is valid until the password changes, so a link works once only if no two
requests can both check the token before either saves. The check runs on the user's row locked
(``accounts.services._locked_active_user``); each request pauses between the check and the save
(a test-only wrapper around ``_save_password``), so every request checks before any saves. The
negative control reads the row without the lock under the same pause, and the link works more
than once."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts import services
from boxoffice.accounts.models import User

from .test_booking_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONFIRM = "/api/v1/auth/password-reset/confirm/"


@pytest.fixture(autouse=True)
def _fresh_throttles():  # type: ignore[no-untyped-def]
    """The confirm step is throttled per address in the cache table, which outlives a test."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _slow_save(monkeypatch):  # type: ignore[no-untyped-def]
    save = services._save_password

    def wait_then_save(user, password):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        save(user, password)

    monkeypatch.setattr(services, "_save_password", wait_then_save)


def five_browsers(customer) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    """Five requests with one link, each setting its own password; their status codes (in
    request order) and the passwords."""
    uid, token = services.reset_link_parts(customer)
    passwords = [f"racing-passphrase-{i}-xyz" for i in range(5)]
    answers = run_together(
        [
            lambda password=password: APIClient().post(
                CONFIRM, {"uid": uid, "token": token, "password": password}, format="json"
            )
            for password in passwords
        ]
    )
    return [a.status_code for a in answers], passwords


def test_five_browsers_one_link_exactly_one_reset(customer):  # type: ignore[no-untyped-def]
    statuses, passwords = five_browsers(customer)
    assert sorted(statuses) == [204] + [400] * 4, statuses
    winner = passwords[statuses.index(204)]
    assert User.objects.get(pk=customer.pk).check_password(winner)


@pytest.mark.negative_control
def test_negative_control_without_the_row_lock_the_link_works_more_than_once(customer, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        services,
        "_locked_active_user",
        lambda pk: User.objects.filter(pk=pk, is_active=True).first(),
    )
    statuses, _ = five_browsers(customer)
    print(f"five browsers, one link, no lock: {statuses}")
    assert statuses.count(204) > 1

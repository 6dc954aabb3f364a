"""Two doors scanning one ticket at the same moment: exactly one admits it.

The window between reading a ticket and admitting it is microseconds, and ten threads rarely
land inside it by chance. So each door waits a moment before admitting (a test-only wrapper
around ``checkin._admit``), and every door reads the ticket before any admits it: the
conditional UPDATE still admits once. The negative control replaces it with a check-then-act
update under the same wait, and every door admits the ticket."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from boxoffice.booking import checkin
from boxoffice.booking.models import Ticket
from boxoffice.booking.services import PaymentOutcome, create_hold, record_payment
from tests.conftest import bearer
from tests.invariants import assert_money_invariant

from .test_booking_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def ten_doors(make_showtime, customer, admin_user) -> tuple[list[int], str]:  # type: ignore[no-untyped-def]
    """Ten doors scan one ticket at once; their status codes, and the ticket's code."""
    # Doors are open: the show starts in 30 minutes (check-in admits only while a show is on).
    showtime = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    seat = showtime.screen.seats.order_by("id").first()
    booking = create_hold(user=customer, showtime=showtime, seat_ids=[seat.pk])
    assert record_payment(booking=booking, amount=booking.total).outcome == PaymentOutcome.CONFIRMED
    code = Ticket.objects.get(booking_seat__booking=booking).code
    clients = [bearer(admin_user) for _ in range(10)]

    answers = run_together(
        [
            lambda client=client: client.post("/api/v1/checkin/", {"code": code}, format="json")
            for client in clients
        ]
    )
    return sorted(a.status_code for a in answers), code


def test_ten_scanners_one_ticket_exactly_one_admission(
    make_showtime, customer, admin_user, monkeypatch
):
    admit = checkin._admit

    def wait_then_admit(ticket, **kwargs):  # type: ignore[no-untyped-def]
        time.sleep(0.3)
        return admit(ticket, **kwargs)

    monkeypatch.setattr(checkin, "_admit", wait_then_admit)
    statuses, code = ten_doors(make_showtime, customer, admin_user)
    assert statuses == [200] + [409] * 9, statuses
    assert Ticket.objects.get(code=code).checked_in_at is not None
    assert_money_invariant()


@pytest.mark.negative_control
def test_negative_control_check_then_act_admits_every_door(
    make_showtime, customer, admin_user, monkeypatch
):
    def check_then_act(ticket, *, now, by):  # type: ignore[no-untyped-def]
        used = Ticket.objects.values_list("checked_in_at", flat=True).get(pk=ticket.pk)
        time.sleep(0.3)
        if used is not None:
            return False
        Ticket.objects.filter(pk=ticket.pk).update(checked_in_at=now, checked_in_by=by)
        return True

    monkeypatch.setattr(checkin, "_admit", check_then_act)
    statuses, _ = ten_doors(make_showtime, customer, admin_user)
    print(f"ten doors, check-then-act: {statuses}")
    assert statuses.count(200) > 1

"""The door against the refund desk, on PostgreSQL: a ticket is either admitted or refunded,
never both, and no ticket is admitted after its show was cancelled.

1. A customer cancels a paid booking (90 minutes before the show: the doors are open and the
   customer's cut-off has not passed) while the door scans one of its tickets. Allowed endings:
   the door admits and the cancel is refused (409 ``checked_in``), or the cancel refunds and
   the door refuses (404). Never both 200.
2. An admin cancels the show while the door scans a ticket. The door may admit only before the
   show's cancellation is written; the show's sweep then refunds the booking as usual.

The guard is check-in's pair of shared locks (the show's row, then the booking's:
``checkin._lock_for_admission``) with the conditional UPDATE that admits only a live seat of a
confirmed booking of a scheduled show (``checkin._admit``). Trials alternate which actor goes
first; the first one pauses at its decision point with its locks taken (a test-only wrapper), so
the second arrives inside the window. The negative controls put back b32745b's admission (no
locks, ``checked_in_at IS NULL`` alone) and show both races break.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from boxoffice.booking import checkin, rules, services
from boxoffice.booking.models import Booking, BookingStatus, Ticket
from tests.conftest import bearer, make_user

from . import test_money_races
from .test_money_races import (
    Actor,
    assert_all_hold,
    assert_some_broke,
    deliver,
    ending,
    first_and_second,
    lost_webhooks,  # noqa: F401 (a fixture used by name)
    paid_hold,
    pause_point,
    race,
    seats_of,
    settle_and_judge,
    signed_event,
    summary,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S = BookingStatus
TRIALS = 6
CHECKIN = "/api/v1/checkin/"


def confirmed_ticket(user, show, seat_id: int) -> tuple[Booking, str]:  # type: ignore[no-untyped-def]
    """A booking paid at localstripe and confirmed by its (signed) webhook; its ticket's code."""
    booking = paid_hold(user, show, seat_id)
    status, outcome = deliver(signed_event(booking.payment_intent_id))
    assert (status, outcome) == (200, "confirmed"), (status, outcome)
    return booking, Ticket.objects.get(booking_seat__booking=booking).code


def admitted(code: str) -> bool:
    return Ticket.objects.get(code=code).checked_in_at is not None


def old_admission(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard removed: b32745b's admission, no locks and a check of ``checked_in_at`` alone
    (pause wrappers are applied after this, so the pausing actor still pauses)."""

    def old_admit(ticket, *, now, by):  # type: ignore[no-untyped-def]
        return bool(
            Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=True).update(
                checked_in_at=now, checked_in_by=by
            )
        )

    monkeypatch.setattr(checkin, "_lock_for_admission", lambda ticket: None)
    monkeypatch.setattr(checkin, "_admit", old_admit)


# --- 1. the door vs the customer's cancel ------------------------------------------------------


def door_vs_cancel(make_showtime, localstripe, trials: int):  # type: ignore[no-untyped-def]
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    user = make_user("latecomer")
    customer, door = bearer(user), bearer(make_user("usher", role="admin", is_staff=True))
    endings: Counter[str] = Counter()
    ids, codes, answers = [], [], []
    for trial in range(trials):
        booking, code = confirmed_ticket(user, show, seats_of(show)[trial])
        scan = Actor("door", lambda c=code: door.post(CHECKIN, {"code": c}, format="json"))
        cancel = Actor(
            "cancel", lambda pk=booking.pk: customer.post(f"/api/v1/bookings/{pk}/cancel/")
        )
        # The door pauses with its locks taken, just before admitting; the cancel pauses with
        # the booking locked, just after reading that no ticket was used.
        first_and_second(trial, scan, cancel, a_pauses="_admit", b_pauses="used_seat_labels")
        ids.append(booking.pk)
        codes.append(code)
        answers.append(race(scan, cancel))
    judged = settle_and_judge(localstripe, ids)
    for pk, code, (scanned, cancelled) in zip(ids, codes, answers, strict=True):
        endings[ending(pk)] += 1
        if scanned.error or cancelled.error:
            judged[pk].append("an actor failed: " + (scanned.error or cancelled.error)[-600:])
            continue
        pair = (scanned.result.status_code, cancelled.result.status_code)
        if pair == (200, 409):
            code_409 = cancelled.result.json()["errors"][0]["code"]
            if code_409 != "checked_in":
                judged[pk].append(f"cancel refused with {code_409}")
            if Booking.objects.get(pk=pk).status != S.CONFIRMED or not admitted(code):
                judged[pk].append("the door admitted but the booking is not a used sale")
        elif pair == (404, 200):
            if admitted(code):
                judged[pk].append("refunded, yet the ticket is marked used")
        else:
            judged[pk].append(f"door {pair[0]}, cancel {pair[1]}: admitted and refunded")
    return endings, judged


def test_door_vs_customer_cancel(make_showtime, lost_webhooks, localstripe, monkeypatch):  # noqa: F811
    pause_point(monkeypatch, checkin, "_admit", "before")
    pause_point(monkeypatch, rules, "used_seat_labels", "after")
    endings, judged = door_vs_cancel(make_showtime, localstripe, TRIALS)
    summary("door vs cancel", endings, judged)
    assert_all_hold(judged)
    # Both orders happened: some tickets were used, some refunded.
    assert endings["confirmed"]
    assert sum(n for e, n in endings.items() if e != "confirmed")


@pytest.mark.negative_control
def test_negative_control_door_vs_customer_cancel_with_the_old_admission(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
):
    old_admission(monkeypatch)
    pause_point(monkeypatch, checkin, "_admit", "before")
    pause_point(monkeypatch, rules, "used_seat_labels", "after")
    endings, judged = door_vs_cancel(make_showtime, localstripe, TRIALS)
    summary("NEGATIVE CONTROL door vs cancel, old admission", endings, judged)
    assert_some_broke(judged, sweep=False)


# --- 2. the door vs the show's cancellation ----------------------------------------------------


def door_vs_show_cancel(make_showtime, localstripe, monkeypatch, settings, trials: int):  # type: ignore[no-untyped-def]
    """The door goes first in every trial and pauses just before admitting (the show read as
    scheduled); the admin cancels the show meanwhile. Each actor notes the moment of its
    decision: the door when its UPDATE returns, the show's cancel when its sweep begins (its
    UPDATE of the show is done by then)."""
    moments: dict[str, float] = {}
    # One show per trial, five hours apart on the screen: doors open early enough for all.
    settings.CHECKIN_OPENS_MINUTES = 300 * trials + 60
    admit, sweep = checkin._admit, services.cancel_bookings_of_show

    def noted_admit(ticket, **kwargs):  # type: ignore[no-untyped-def]
        result = admit(ticket, **kwargs)
        moments["admitted"] = time.monotonic()
        return result

    def noted_sweep(**kwargs):  # type: ignore[no-untyped-def]
        moments["show cancelled"] = time.monotonic()
        return sweep(**kwargs)

    # The show's cancel is a whole request (auth, the UPDATE, the sweep's first reads): on a busy
    # machine it needs more than the usual pause to land inside the door's window.
    monkeypatch.setattr(test_money_races, "PAUSE", 0.8)
    monkeypatch.setattr(checkin, "_admit", noted_admit)
    monkeypatch.setattr(services, "cancel_bookings_of_show", noted_sweep)
    pause_point(monkeypatch, checkin, "_admit", "before")
    user = make_user("moviegoer")
    door = bearer(make_user("usher", role="admin", is_staff=True))
    admin = bearer(make_user("manager", role="admin", is_staff=True))
    endings: Counter[str] = Counter()
    ids, judged_answers = [], []
    for trial in range(trials):
        show = make_showtime(starts_at=timezone.now() + timedelta(minutes=30 + 300 * trial))
        booking, code = confirmed_ticket(user, show, seats_of(show)[0])
        moments.clear()
        scan = Actor("door", lambda c=code: door.post(CHECKIN, {"code": c}, format="json"))
        cancel = Actor(
            "show cancel",
            lambda pk=show.pk: admin.post(
                f"/api/v1/showtimes/{pk}/cancel/", {"reason": "Fire alarm"}, format="json"
            ),
        )
        first_and_second(0, scan, cancel, a_pauses="_admit", b_pauses="-")
        scanned, cancelled = race(scan, cancel)
        ids.append(booking.pk)
        judged_answers.append((scanned, cancelled, dict(moments)))
    judged = settle_and_judge(localstripe, ids)
    for pk, (scanned, cancelled, seen) in zip(ids, judged_answers, strict=True):
        endings[ending(pk)] += 1
        if scanned.error or cancelled.error:
            judged[pk].append("an actor failed: " + (scanned.error or cancelled.error)[-600:])
            continue
        if scanned.result.status_code not in (200, 404):  # 404: the show was cancelled first
            judged[pk].append(f"door answered {scanned.result.status_code}")
        if cancelled.result.status_code != 200:
            judged[pk].append(f"show cancel answered {cancelled.result.status_code}")
        if Booking.objects.get(pk=pk).status != S.CANCELLED:
            judged[pk].append("the show is cancelled but its booking is not")
        if scanned.result.status_code == 200 and not seen["admitted"] < seen["show cancelled"]:
            judged[pk].append("the door admitted a ticket after its show was cancelled")
    return endings, judged


def test_door_vs_show_cancel(make_showtime, lost_webhooks, localstripe, monkeypatch, settings):  # noqa: F811
    endings, judged = door_vs_show_cancel(make_showtime, localstripe, monkeypatch, settings, TRIALS)
    summary("door vs show cancel", endings, judged)
    assert_all_hold(judged)


@pytest.mark.negative_control
def test_negative_control_door_vs_show_cancel_with_the_old_admission(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
    settings,
):
    old_admission(monkeypatch)
    endings, judged = door_vs_show_cancel(make_showtime, localstripe, monkeypatch, settings, TRIALS)
    summary("NEGATIVE CONTROL door vs show cancel, old admission", endings, judged)
    assert_some_broke(judged, sweep=False)

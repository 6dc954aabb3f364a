"""The waitlist's races, on PostgreSQL, each ending with the invariant sweep (which includes
"a waitlist entry's offers hold at most its party's seats") and each with a negative control.

1. An offer against a buyer for the same freed seat: the seat goes to one of them. Guard: the
   partial unique index on live seats (the offer is an ordinary best-available hold). Without
   it both hold the seat.
2. An offer lapsing against its payment: the lapsed offer's seats go to the next entry while
   the first customer's payment lands. Either the payment confirms (the next entry gets
   nothing) or the next entry gets the seats and the payment is refunded (``seats_lost``).
   Guard: the same index, which the payment's claim of its lapsed seats also meets. Without it
   the seats are sold and offered at once.
3. Two offer workers for the same show (ten seats free, three parties of two): the offers never
   exceed what is free, and no entry gets two offers. Guard: the show's offers lock and the entry's row lock with the conditional move
   to offered. Without them an entry is offered twice (two holds for one party).

Each trial's first actor pauses at its decision point (a test-only wrapper), the second starts
a moment later, as in tests/concurrency/test_money_races.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

from boxoffice.booking.models import Booking, BookingSeat, BookingStatus
from boxoffice.booking.services import holds
from boxoffice.payments import gateway
from boxoffice.payments import services as payments
from boxoffice.waitlist import services as waitlist
from boxoffice.waitlist.models import EntryStatus, WaitlistEntry
from tests.booking.helpers import hold, seat_ids
from tests.conftest import bearer, future, make_user
from tests.invariants import breaches, django_query
from tests.payments.helpers import GOOD_CARD
from tests.waitlist.helpers import join, sell_out

from .guards import without_index
from .test_money_races import (
    Actor,
    assert_all_hold,
    deliver,
    first_and_second,
    lapse,
    lost_webhooks,  # noqa: F401 (a fixture used by name)
    pause_point,
    race,
    settle_and_judge,
    signed_event,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 6
E = EntryStatus


def sweep_breaks() -> dict[str, list[tuple]]:
    return breaches(django_query)


def report(title: str, endings: Counter[str], broken: int, trials: int) -> None:
    print(f"{title}: {trials} trials, {dict(sorted(endings.items()))}, {broken} broken")


# --- 1. an offer against a buyer for the same freed seat ---------------------------------------


def offer_vs_buyer(make_showtime, trials: int) -> tuple[Counter[str], int]:  # type: ignore[no-untyped-def]
    endings: Counter[str] = Counter()
    broken = 0
    for trial in range(trials):
        show = make_showtime(starts_at=future(days=trial + 1))
        held = sell_out(show)
        waiter = bearer(make_user(f"waiter{trial}"))
        assert join(waiter, show, 1).status_code == 201
        # Row A comes back, and a buyer takes four of it: A5 alone is free (the offer task the
        # cancel queued is not run: the race runs the offer itself).
        owner = Booking.objects.select_related("user").get(pk=held["A"])
        bearer(owner.user).post(f"/api/v1/bookings/{owner.pk}/cancel/")
        four = hold(bearer(owner.user), show, seat_ids(show, "A1", "A2", "A3", "A4"))
        assert four.status_code == 201
        a5 = seat_ids(show, "A5")
        buyer = bearer(make_user(f"rival{trial}"))
        offer = Actor("offer", lambda s=show: waitlist.make_offers(showtime_id=s.pk))
        buy = Actor("buyer", lambda s=show, c=buyer, seat=a5: hold(c, s, seat))
        first_and_second(trial, offer, buy, a_pauses="release_lapsed", b_pauses="release_lapsed")
        made, bought = race(offer, buy)
        assert made.error + bought.error == ""
        entry = WaitlistEntry.objects.get(showtime=show)
        live = BookingSeat.objects.filter(showtime=show, seat_id=a5[0], is_live=True).count()
        outcome = f"offer {made.result}, buyer {bought.result.status_code}, entry {entry.status}"
        endings[outcome] += 1
        if live > 1 or (made.result == 1) == (bought.result.status_code == 201):
            broken += 1
    return endings, broken


def test_offer_vs_buyer_for_the_same_freed_seat(make_showtime, monkeypatch):
    pause_point(monkeypatch, holds, "release_lapsed", "after")
    endings, broken = offer_vs_buyer(make_showtime, TRIALS)
    report("offer vs buyer", endings, broken, TRIALS)
    assert broken == 0
    assert sweep_breaks() == {}
    # Both orders happened: some seats went to the waitlist, some to the buyer.
    assert any("offer 1" in e for e in endings)
    assert any("buyer 201" in e for e in endings)


@pytest.mark.negative_control
def test_negative_control_offer_vs_buyer_without_the_unique_index(make_showtime, monkeypatch):
    pause_point(monkeypatch, holds, "release_lapsed", "after")
    with without_index("booking_bookingseat", "booking_seat_live_once"):
        endings, broken = offer_vs_buyer(make_showtime, TRIALS)
        found = sweep_breaks()
    report("NEGATIVE CONTROL offer vs buyer, no unique index", endings, broken, TRIALS)
    assert broken, (endings, found)
    assert "seat live twice" in found, (endings, found)


# --- 2. an offer lapsing against its payment ---------------------------------------------------


def lapse_vs_payment(make_showtime, localstripe, trials: int):  # type: ignore[no-untyped-def]
    endings: Counter[str] = Counter()
    offers, problems = [], []
    for trial in range(trials):
        show = make_showtime(starts_at=future(days=trial + 1))
        held = sell_out(show)
        first, second = make_user(f"first{trial}"), make_user(f"second{trial}")
        assert join(bearer(first), show, 5).status_code == 201
        assert join(bearer(second), show, 5).status_code == 201
        owner = Booking.objects.select_related("user").get(pk=held["C"])
        bearer(owner.user).post(f"/api/v1/bookings/{owner.pk}/cancel/")
        assert waitlist.make_offers(showtime_id=show.pk) == 1
        offer = Booking.objects.get(waitlist_entry__isnull=False, showtime=show)
        payments.start_payment(booking=offer)
        offer.refresh_from_db()
        assert gateway.pay_with_test_card(intent_id=offer.payment_intent_id, card=GOOD_CARD) == (
            "succeeded"
        )
        lapse(offer.pk)  # the payment lands just after the offer's time is up
        payload = signed_event(offer.payment_intent_id)
        pay = Actor("payment", lambda p=payload: deliver(p))
        next_offer = Actor("offer", lambda s=show: waitlist.make_offers(showtime_id=s.pk))
        first_and_second(
            trial, pay, next_offer, a_pauses="release_lapsed", b_pauses="release_lapsed"
        )
        paid, made = race(pay, next_offer)
        if paid.error or made.error:
            problems.append(paid.error + made.error)
            continue
        offers.append(offer.pk)
        offer.refresh_from_db()
        entries = {e.user_id: e.status for e in WaitlistEntry.objects.filter(showtime=show)}
        endings[f"{offer.status}:{offer.cancel_reason or '-'}, next {entries[second.pk]}"] += 1
        if offer.status == BookingStatus.CONFIRMED and entries[second.pk] == E.OFFERED:
            problems.append(f"show {show.pk}: paid and offered again")
    return endings, offers, problems


def test_offer_lapsing_vs_its_payment(make_showtime, lost_webhooks, localstripe, monkeypatch):  # noqa: F811
    pause_point(monkeypatch, payments_claim_module(), "release_lapsed", "after")
    pause_point(monkeypatch, holds, "release_lapsed", "after")
    endings, offers, problems = lapse_vs_payment(make_showtime, localstripe, TRIALS)
    judged = settle_and_judge(localstripe, offers)
    report(
        "offer lapsing vs payment", endings, sum(map(bool, judged.values())) + len(problems), TRIALS
    )
    assert problems == []
    assert_all_hold(judged)
    assert sweep_breaks() == {}
    assert any(e.startswith("confirmed") for e in endings)
    assert any("seats_lost" in e for e in endings)


@pytest.mark.negative_control
def test_negative_control_offer_lapsing_vs_payment_without_the_unique_index(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
):
    pause_point(monkeypatch, payments_claim_module(), "release_lapsed", "after")
    pause_point(monkeypatch, holds, "release_lapsed", "after")
    with without_index("booking_bookingseat", "booking_seat_live_once"):
        endings, _offers, problems = lapse_vs_payment(make_showtime, localstripe, TRIALS)
        found = sweep_breaks()
    report(
        "NEGATIVE CONTROL offer lapsing vs payment, no unique index", endings, len(problems), TRIALS
    )
    assert problems, (endings, found)
    assert "seat live twice" in found, (endings, found)


def payments_claim_module():  # type: ignore[no-untyped-def]
    from boxoffice.booking.services import payments as booking_payments

    return booking_payments


# --- 3. two offer workers for the same show ----------------------------------------------------


def two_workers(make_showtime, trials: int) -> tuple[Counter[str], int]:  # type: ignore[no-untyped-def]
    endings: Counter[str] = Counter()
    broken = 0
    for trial in range(trials):
        show = make_showtime(starts_at=future(days=trial + 1))
        held = sell_out(show)
        for n in range(3):
            assert join(bearer(make_user(f"party{trial}x{n}")), show, 2).status_code == 201
        for row in "BC":  # ten seats come free: room for every party, and for a second offer
            owner = Booking.objects.select_related("user").get(pk=held[row])
            bearer(owner.user).post(f"/api/v1/bookings/{owner.pk}/cancel/")
        a = Actor("worker a", lambda s=show: waitlist.make_offers(showtime_id=s.pk))
        b = Actor("worker b", lambda s=show: waitlist.make_offers(showtime_id=s.pk))
        first_and_second(
            trial, a, b, a_pauses="_lock_waiting_entry", b_pauses="_lock_waiting_entry"
        )
        done = race(a, b)
        assert not any(f.error for f in done), [f.error for f in done]
        statuses = Counter(
            WaitlistEntry.objects.filter(showtime=show).values_list("status", flat=True)
        )
        offers = Booking.objects.filter(showtime=show, waitlist_entry__isnull=False).count()
        live = BookingSeat.objects.filter(
            showtime=show, booking__waitlist_entry__isnull=False, is_live=True
        ).count()
        endings[f"offers {offers}, seats {live}, {dict(sorted(statuses.items()))}"] += 1
        if offers != 3 or live != 6 or statuses[E.OFFERED] != 3:
            broken += 1
    return endings, broken


def test_two_offer_workers_for_the_same_show(make_showtime, monkeypatch):
    pause_point(monkeypatch, waitlist, "_lock_waiting_entry", "after")
    endings, broken = two_workers(make_showtime, TRIALS)
    report("two offer workers", endings, broken, TRIALS)
    assert broken == 0
    assert sweep_breaks() == {}


@pytest.mark.negative_control
def test_negative_control_two_offer_workers_without_the_locks(make_showtime, monkeypatch):
    def unlocked(entry_id: int):  # type: ignore[no-untyped-def]
        return (
            WaitlistEntry.objects.select_related("user")
            .filter(pk=entry_id, status=E.WAITING)
            .first()
        )

    monkeypatch.setattr(waitlist.booking_locks, "lock_offers", lambda showtime_id: None)
    monkeypatch.setattr(waitlist, "_lock_waiting_entry", unlocked)
    monkeypatch.setattr(waitlist, "CONDITIONAL_OFFER", False)
    pause_point(monkeypatch, waitlist, "_lock_waiting_entry", "after")
    endings, broken = two_workers(make_showtime, TRIALS)
    found = sweep_breaks()
    report("NEGATIVE CONTROL two offer workers, no locks", endings, broken, TRIALS)
    assert broken, (endings, found)
    assert "waitlist entry offered more than its party" in found, (endings, found)

"""Exchanges under races, on PostgreSQL (issue 17): the money invariant, the exchange chain's
included (money captured less money refunded is the final booking's live total), whatever the
interleaving. Each trial's old booking is paid at localstripe and confirmed by its webhook; the
exchanges move it to one seat of a later show, cheaper, so each completes at once and refunds a
difference against the old payment.

1. An exchange against a partial cancel of the same booking: either the cancel comes first (the
   credit is the seat it keeps) or the exchange does (the cancel is 409 ``booking_exchanged``).
   Guard: both decide on the old booking locked with its seat rows (``locks.lock_booking``).
   Without it the exchange's credit counts the seat the cancel refunds: money out of nothing.
2. Two exchanges of the same booking: one completes, the other is 409 ``not_confirmed``.
   Guards: the customer's row (both are holds of one customer), the old booking's lock, and the
   state machine's conditional UPDATE (confirmed -> exchanged). The negative control removes all
   three: both complete, each with the whole credit.
3. Two customers' exchanges into the same seat: one 201, the other 409 ``seats_taken``. Guard: the
   partial unique index on live (show, seat); dropped, both get the seat.

Harness: tests/concurrency/test_money_races.py (threads over the whole HTTP stack, a barrier,
the first actor pausing at its decision point with its locks taken, trials alternating).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest

from boxoffice.booking import locks, rules, services, states
from boxoffice.booking.models import Booking
from boxoffice.core.money import to_minor_units
from boxoffice.payments import gateway
from boxoffice.payments.models import Refund
from tests.conftest import bearer, future, make_user
from tests.invariants import (
    assert_money_invariant,
    breaches,
    django_query,
    localstripe_refunds_by_intent,
    run_worker,
)

from .guards import without_index
from .test_money_races import (
    NEGATIVE_TRIALS,
    TRIALS,
    Actor,
    first_and_second,
    lost_webhooks,  # noqa: F401 (a fixture used by name)
    pause_point,
    race,
    seats_of,
    summary,
)
from .test_partial_cancel_races import paid_two_seats

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def exchange(client, booking_id: int, showtime_id: int, seat_id: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/bookings/{booking_id}/exchange/",
        {"showtime": showtime_id, "seats": [seat_id]},
        format="json",
    )


def chain_of(root: int) -> list[Booking]:
    found, frontier = [], [root]
    while frontier:
        found.extend(Booking.objects.filter(pk__in=frontier))
        frontier = list(
            Booking.objects.filter(exchange_of_id__in=frontier).values_list("pk", flat=True)
        )
    return found


def judge_chains(localstripe: str, roots: list[int]) -> dict[int, list[str]]:
    """After the worker's refunds, per chain: the sweep's checks on its bookings, and Stripe's
    money (captured on the chain's payments less localstripe's refunds of them) is the chain's
    (paid less refunded over its bookings) and the live total of its confirmed booking."""
    run_worker()
    refunds = localstripe_refunds_by_intent(localstripe)
    judged: dict[int, list[str]] = {}
    for root in roots:
        chain = chain_of(root)
        ids = [b.pk for b in chain]
        problems = [f"{name}: {rows}" for name, rows in breaches(django_query, ids).items()]
        captured = refunded = 0
        for booking in chain:
            if booking.payment_intent_id:
                intent = gateway.retrieve_payment_intent(booking.payment_intent_id)
                captured += intent.amount if intent.status == "succeeded" else 0
                made = refunds.get(booking.payment_intent_id, [])
                refunded += sum(r["amount"] for r in made if r.get("status") != "failed")
        ours = sum(b.paid_amount - b.refunded_amount for b in chain)
        live = sum(
            sum(s.price for s in b.seats.filter(is_live=True))
            for b in chain
            if b.status == "confirmed"
        )
        currency = chain[0].currency
        if captured - refunded != to_minor_units(ours, currency):
            problems.append(f"Stripe kept {captured - refunded}, the bookings say {ours}")
        if ours != live:
            problems.append(f"the chain kept {ours} for seats worth {live}")
        judged[root] = problems
    return judged


def ending(root: int) -> str:
    return ",".join(f"{b.status}" for b in sorted(chain_of(root), key=lambda b: b.pk))


def assert_all_hold(judged: dict[int, list[str]]) -> None:
    bad = {pk: problems for pk, problems in judged.items() if problems}
    assert not bad, bad
    assert_money_invariant()


def unlocked_booking(booking_id: int) -> Booking:
    """The guard removed: the booking and its seats read without any lock."""
    return Booking.objects.select_related("showtime").get(pk=booking_id)


# --- 1. an exchange vs a partial cancel of the same booking -----------------------------------


def exchange_vs_cancel(make_showtime, localstripe, trials: int):  # type: ignore[no-untyped-def]
    show, later = make_showtime(), make_showtime(starts_at=future(days=2))
    user = make_user("mover")
    client = bearer(user)
    seats, targets = seats_of(show), seats_of(later)
    endings: Counter[str] = Counter()
    roots, answers = [], []
    for trial in range(trials):
        a, b = seats[2 * trial], seats[2 * trial + 1]
        old = paid_two_seats(user, show, [a, b])
        move = Actor(
            "exchange", lambda pk=old.pk, s=targets[trial]: exchange(client, pk, later.pk, s)
        )
        cut = Actor(
            "cancel",
            lambda pk=old.pk, s=a: client.post(
                f"/api/v1/bookings/{pk}/cancel/", {"seats": [s]}, format="json"
            ),
        )
        # The exchange pauses with the old booking's worth read (its credit); the cancel with
        # its decision made.
        first_and_second(trial, move, cut, a_pauses="live_total", b_pauses="cancel_refusal")
        roots.append(old.pk)
        answers.append(race(move, cut))
    judged = judge_chains(localstripe, roots)
    for root, done in zip(roots, answers, strict=True):
        endings[ending(root)] += 1
        if done[0].error or done[1].error:
            judged[root].append("an actor failed: " + (done[0].error or done[1].error)[-600:])
            continue
        pair = (done[0].result.status_code, done[1].result.status_code)
        if pair not in {(201, 200), (201, 409)}:
            judged[root].append(f"exchange {pair[0]}, cancel {pair[1]}")
            continue
        # The answers match what happened: a cancel that succeeded took its seat out of the
        # credit (it is refunded on its own); one refused left the credit whole.
        new = Booking.objects.get(pk=done[0].result.json()["id"])
        old_total = sum(s.price for s in Booking.objects.get(pk=root).seats.all())
        cut = done[0].result.json()["credit"]
        seat_price = Booking.objects.get(pk=root).seats.order_by("seat_id").first().price
        expected = old_total - seat_price if pair[1] == 200 else old_total
        if new.credit != expected:
            judged[root].append(
                f"cancel answered {pair[1]}, yet the exchange's credit is {cut} of {old_total}"
            )
    return endings, judged


def test_exchange_vs_partial_cancel(make_showtime, lost_webhooks, localstripe, monkeypatch):  # noqa: F811
    pause_point(monkeypatch, rules, "live_total", "after")
    pause_point(monkeypatch, rules, "cancel_refusal", "after")
    endings, judged = exchange_vs_cancel(make_showtime, localstripe, TRIALS)
    summary("exchange vs partial cancel", endings, judged)
    assert_all_hold(judged)


@pytest.mark.negative_control
def test_negative_control_exchange_vs_partial_cancel_without_the_lock(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
):
    monkeypatch.setattr(locks, "lock_booking", unlocked_booking)
    pause_point(monkeypatch, rules, "live_total", "after")
    pause_point(monkeypatch, rules, "cancel_refusal", "after")
    endings, judged = exchange_vs_cancel(make_showtime, localstripe, NEGATIVE_TRIALS)
    summary("NEGATIVE CONTROL exchange vs partial cancel, no lock", endings, judged)
    assert any(judged.values()), "the guard was removed, yet no trial broke the invariant"


# --- 2. two exchanges of the same booking ------------------------------------------------------


def two_exchanges(make_showtime, localstripe, trials: int):  # type: ignore[no-untyped-def]
    show, later = make_showtime(), make_showtime(starts_at=future(days=2))
    user = make_user("twice")
    client = bearer(user)
    seats, targets = seats_of(show), seats_of(later)
    endings: Counter[str] = Counter()
    roots, answers = [], []
    for trial in range(trials):
        old = paid_two_seats(user, show, [seats[2 * trial], seats[2 * trial + 1]])
        one = Actor(
            "exchange 1", lambda pk=old.pk, s=targets[2 * trial]: exchange(client, pk, later.pk, s)
        )
        two = Actor(
            "exchange 2",
            lambda pk=old.pk, s=targets[2 * trial + 1]: exchange(client, pk, later.pk, s),
        )
        first_and_second(trial, one, two, a_pauses="live_total", b_pauses="live_total")
        roots.append(old.pk)
        answers.append(race(one, two))
    judged = judge_chains(localstripe, roots)
    for root, done in zip(roots, answers, strict=True):
        endings[ending(root)] += 1
        if done[0].error or done[1].error:
            judged[root].append("an actor failed: " + (done[0].error or done[1].error)[-600:])
            continue
        codes = sorted(d.result.status_code for d in done)
        if codes != [201, 409]:
            judged[root].append(f"exchanges answered {codes}")
    return endings, judged


def test_two_exchanges_of_one_booking(make_showtime, lost_webhooks, localstripe, monkeypatch):  # noqa: F811
    pause_point(monkeypatch, rules, "live_total", "after")
    endings, judged = two_exchanges(make_showtime, localstripe, TRIALS)
    summary("two exchanges of one booking", endings, judged)
    assert_all_hold(judged)


@pytest.mark.negative_control
def test_negative_control_two_exchanges_without_locks_and_the_state_machine(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
):
    transition = states.transition

    def unconditional(booking: Booking, target: str, **fields: Any) -> None:
        if target != "exchanged":
            return transition(booking, target, **fields)
        Booking.objects.filter(pk=booking.pk).update(status=target, **fields)
        booking.status = target
        return None

    # The old booking decided on as the request first read it (before its hold), unlocked.
    early = threading.local()
    refusal = rules.exchange_refusal

    def remember(booking: Booking, **kwargs: Any) -> Any:
        if getattr(early, "booking", None) is None:
            early.booking = (
                Booking.objects.select_related("showtime")
                .prefetch_related("seats__seat", "seats__ticket")
                .get(pk=booking.pk)
            )
        return refusal(booking, **kwargs)

    def stale_copy(booking_id: int) -> Booking:
        copy = getattr(early, "booking", None)
        early.booking = None
        return copy if copy is not None else unlocked_booking(booking_id)

    monkeypatch.setattr(rules, "exchange_refusal", remember)
    monkeypatch.setattr(locks, "lock_booking", stale_copy)
    monkeypatch.setattr(locks, "lock_customer", lambda user: None)
    monkeypatch.setattr(states, "transition", unconditional)
    pause_point(monkeypatch, rules, "live_total", "after")
    endings, judged = two_exchanges(make_showtime, localstripe, NEGATIVE_TRIALS)
    summary("NEGATIVE CONTROL two exchanges, no locks, no conditional UPDATE", endings, judged)
    assert any(judged.values()), "the guards were removed, yet no trial broke the invariant"


# --- 3. two customers' exchanges into the same seat -------------------------------------------


def same_seat(make_showtime, localstripe, trials: int):  # type: ignore[no-untyped-def]
    show, later = make_showtime(), make_showtime(starts_at=future(days=2))
    ann, bob = make_user("ann"), make_user("bob")
    seats, targets = seats_of(show), seats_of(later)
    outcomes: Counter[str] = Counter()
    broken = 0
    for trial in range(trials):
        old_a = paid_two_seats(ann, show, [seats[2 * trial]])
        old_b = paid_two_seats(bob, show, [seats[2 * trial + 1]])
        target = targets[trial]
        a = Actor("ann", lambda pk=old_a.pk, t=target: exchange(bearer(ann), pk, later.pk, t))
        b = Actor("bob", lambda pk=old_b.pk, t=target: exchange(bearer(bob), pk, later.pk, t))
        first_and_second(trial, a, b, a_pauses="-", b_pauses="-")
        done = race(a, b)
        codes = sorted(
            d.result.status_code if not d.error else d.error.splitlines()[-1][:80] for d in done
        )
        outcomes[str(codes)] += 1
        found = breaches(django_query, [old_a.pk, old_b.pk, *_new_ids(old_a, old_b)])
        if codes != [201, 409] or found:
            broken += 1
    return outcomes, broken


def _new_ids(*olds: Booking) -> list[int]:
    return list(Booking.objects.filter(exchange_of__in=olds).values_list("pk", flat=True))


def test_two_exchanges_into_one_seat(make_showtime, lost_webhooks, localstripe):  # noqa: F811
    outcomes, broken = same_seat(make_showtime, localstripe, TRIALS)
    print(f"two exchanges into one seat: {dict(outcomes)}, {broken} broken")
    assert broken == 0
    assert_money_invariant()
    # The loser's refund is nothing: it never had a new booking.
    assert not Refund.objects.filter(status=Refund.Status.PENDING).exists()


@pytest.mark.negative_control
def test_negative_control_two_exchanges_into_one_seat_without_the_unique_index(
    make_showtime,
    lost_webhooks,  # noqa: F811
    localstripe,
    monkeypatch,
):
    check = services.holds._refuse_by_rules

    def check_then_wait(**kwargs: Any) -> None:
        check(**kwargs)
        time.sleep(0.3)

    monkeypatch.setattr(services.holds, "_refuse_by_rules", check_then_wait)
    with without_index("booking_bookingseat", "booking_seat_live_once"):
        outcomes, broken = same_seat(make_showtime, localstripe, NEGATIVE_TRIALS)
        print(
            f"NEGATIVE CONTROL two exchanges into one seat, no index: {dict(outcomes)}, {broken} broken"
        )
    assert broken > 0

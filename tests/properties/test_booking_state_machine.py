"""A stateful property test of the booking state machine, against the real services and the test
database: holds, cancellations, payments, holds lapsing, the expiry sweep and late payments, in
any order hypothesis can think of. After every step:

* no seat of a show has two live BookingSeat rows (nothing is sold or held twice);
* a confirmed booking owns all its seats (live, never lapsing) and has one ticket per seat;
* a cancelled or expired booking holds no seat; a pending one inside its hold holds all of them;
* no booking ever moves backwards (confirmed never pending or expired again, cancelled is final,
  expired only ever becomes confirmed or cancelled);
* nothing is refunded beyond what was paid, and money is only ever recorded on a booking
  that is confirmed or cancelled (its refund then owed).

Each example starts from a clean slate: the machine opens a savepoint on creation and rolls back
to it on teardown (inside pytest-django's test transaction; SQLite and PostgreSQL alike).
``event()`` labels each step's outcome (seats lost, late confirmation, ...) for hypothesis's
observability output; a run of 50 examples reaches every outcome, SEATS_LOST included.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from boxoffice.booking.models import Booking, BookingSeat, BookingStatus, Ticket
from boxoffice.booking.services import (
    HoldError,
    PaymentOutcome,
    PaymentResult,
    SeatsTaken,
    cancel_booking,
    create_hold,
    expire_bookings,
    record_payment,
)
from boxoffice.core.errors import Conflict
from tests.conftest import make_user

S = BookingStatus

# Once a booking has been seen in a status, the statuses it may be seen in afterwards.
MAY_FOLLOW = {
    S.PENDING: {S.PENDING, S.CONFIRMED, S.CANCELLED, S.EXPIRED},
    S.EXPIRED: {S.EXPIRED, S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.CONFIRMED, S.CANCELLED},
    S.CANCELLED: {S.CANCELLED},
}


def _lapse(booking_id: int) -> None:
    """Time passes: the hold ended a second ago (as tests/booking/helpers.lapse)."""
    past = timezone.now() - timedelta(seconds=1)
    Booking.objects.filter(pk=booking_id).update(expires_at=past)
    BookingSeat.objects.filter(booking_id=booking_id, hold_expires_at__isnull=False).update(
        hold_expires_at=past
    )


def _taken_by_others(booking: Booking) -> set[int]:
    """Seats of ``booking`` that another booking holds (unlapsed) or bought, right now."""
    mine = BookingSeat.objects.filter(booking=booking).values_list("seat_id", flat=True)
    return set(
        BookingSeat.objects.filter(showtime_id=booking.showtime_id, seat_id__in=mine, is_live=True)
        .exclude(booking=booking)
        .filter(Q(hold_expires_at__isnull=True) | Q(hold_expires_at__gt=timezone.now()))
        .values_list("seat_id", flat=True)
    )


def _check_payment_result(
    result: PaymentResult, *, before: Booking, taken: set[int], booking_id: int
) -> None:
    """The outcome of a payment is what the database said before it, and is now true: a
    payment confirms a pending or lapsed booking whose seats are free; one whose seats someone
    else took is cancelled with the money recorded (and owed back); money for a cancelled
    booking is recorded once and owed back; nothing changes a confirmed booking."""
    after = Booking.objects.get(pk=booking_id)
    if before.status == S.CONFIRMED:
        assert result == PaymentResult(PaymentOutcome.ALREADY_CONFIRMED)
    elif before.paid_amount > 0:
        assert result == PaymentResult(PaymentOutcome.ALREADY_RECORDED), result
    elif before.status == S.CANCELLED:
        assert result == PaymentResult(PaymentOutcome.REFUND_DUE, "paid_after_cancel"), result
    elif taken:
        assert result == PaymentResult(PaymentOutcome.REFUND_DUE, "seats_lost"), (result, taken)
    else:
        assert result == PaymentResult(PaymentOutcome.CONFIRMED), result
    if result.outcome in (PaymentOutcome.CONFIRMED, PaymentOutcome.ALREADY_CONFIRMED):
        assert after.status == S.CONFIRMED
        assert after.paid_amount == before.total
    elif result.outcome == PaymentOutcome.REFUND_DUE:
        assert after.status == S.CANCELLED
        assert after.paid_amount == before.total  # recorded, so the refund is owed
        if result.reason == "seats_lost":
            assert after.cancel_reason == "seats_lost"
        else:
            assert after.cancel_reason == before.cancel_reason  # the cancellation stands
    else:  # already recorded: nothing more
        assert (after.status, after.paid_amount) == (before.status, before.paid_amount)


def test_no_sequence_of_events_sells_a_seat_twice_or_moves_a_booking_back(
    customer, other_customer, showtime
):  # type: ignore[no-untyped-def]
    customers = [customer, other_customer, make_user("carol")]
    # Six seats of the show's twenty, across all three tiers: enough contention to matter.
    seat_pool = list(
        showtime.screen.seats.order_by("row_index", "number").values_list("pk", flat=True)
    )[::3][:6]

    class BookingMachine(RuleBasedStateMachine):
        bookings = Bundle("bookings")

        def __init__(self) -> None:
            super().__init__()
            self.savepoint = transaction.savepoint_create()
            self.history: dict[int, list[str]] = defaultdict(list)

        def teardown(self) -> None:
            transaction.savepoint_rollback(self.savepoint)

        @initialize()
        def clean_slate(self) -> None:
            # The savepoint already isolates examples; this states the starting point.
            assert not Booking.objects.exists()
            assert not BookingSeat.objects.exists()

        def _fresh(self, booking_id: int) -> Booking:
            return Booking.objects.select_related("showtime").get(pk=booking_id)

        # --- events ---------------------------------------------------------------------------

        @rule(
            target=bookings,
            who=st.integers(min_value=0, max_value=len(customers) - 1),
            seats=st.lists(st.sampled_from(seat_pool), min_size=1, max_size=3),
        )
        def hold(self, who: int, seats: list[int]) -> object:
            try:
                booking = create_hold(user=customers[who], showtime=showtime, seat_ids=seats)
            except HoldError:
                assert len(set(seats)) < len(seats)  # the only invalid input we generate
                event("hold: invalid")
                return multiple()
            except SeatsTaken:
                event("hold: taken")
                return multiple()
            event("hold: ok")
            assert booking.status == S.PENDING
            assert sorted(booking.seats.values_list("seat_id", flat=True)) == sorted(seats)
            return booking.pk

        @rule(
            target=bookings,
            booking_id=bookings,
            who=st.integers(min_value=0, max_value=len(customers) - 1),
            data=st.data(),
        )
        def hold_seats_of(self, booking_id: int, who: int, data: st.DataObject) -> object:
            """Contention on purpose: someone asks for seats another booking has (or had)."""
            theirs = sorted(
                BookingSeat.objects.filter(booking_id=booking_id).values_list("seat_id", flat=True)
            )
            seats = data.draw(st.lists(st.sampled_from(theirs), min_size=1, unique=True))
            return self.hold(who, seats)

        @rule(
            target=bookings,
            booking_id=bookings,
            who=st.integers(min_value=0, max_value=len(customers) - 1),
            data=st.data(),
        )
        def resell_after_lapse(self, booking_id: int, who: int, data: st.DataObject) -> object:
            """A hold runs out and someone else takes some of its seats at once (so that a late
            payment for it finds them gone)."""
            self.lapse(booking_id)
            return self.hold_seats_of(booking_id, who, data)

        @rule(booking_id=bookings)
        def cancel(self, booking_id: int) -> None:
            booking = self._fresh(booking_id)
            try:
                cancel_booking(booking=booking, by=booking.user)
            except Conflict:
                event("cancel: refused")
                assert self._fresh(booking_id).status == booking.status
                return
            event("cancel: ok")
            assert self._fresh(booking_id).status == S.CANCELLED

        @rule(booking_id=bookings)
        def pay(self, booking_id: int) -> None:
            before = self._fresh(booking_id)  # record_payment refreshes the one it is given
            taken = _taken_by_others(before)
            result = record_payment(booking=self._fresh(booking_id), amount=before.total)
            event(f"pay: {result}")
            _check_payment_result(result, before=before, taken=taken, booking_id=booking_id)

        @rule(booking_id=bookings)
        def lapse(self, booking_id: int) -> None:
            if self._fresh(booking_id).status == S.PENDING:
                _lapse(booking_id)
                event("lapse")

        @rule()
        def sweep(self) -> None:
            expired = expire_bookings()
            event("sweep: expired some" if expired else "sweep: nothing to do")

        @rule(booking_id=bookings)
        def late_payment(self, booking_id: int) -> None:
            """The customer pays after the hold ran out: confirm if the seats are still free,
            otherwise record the money and cancel (the refund follows)."""
            if self._fresh(booking_id).status == S.PENDING:
                _lapse(booking_id)
            before = self._fresh(booking_id)  # record_payment refreshes the one it is given
            taken = _taken_by_others(before)
            result = record_payment(booking=self._fresh(booking_id), amount=before.total)
            event(f"late: {result}")
            _check_payment_result(result, before=before, taken=taken, booking_id=booking_id)

        # --- invariants -----------------------------------------------------------------------

        @invariant()
        def no_seat_is_live_twice(self) -> None:
            doubled = (
                BookingSeat.objects.filter(is_live=True)
                .values("showtime_id", "seat_id")
                .annotate(n=Count("id"))
                .filter(n__gt=1)
            )
            assert not doubled.exists(), list(doubled)

        @invariant()
        def seats_match_status(self) -> None:
            now = timezone.now()
            for booking in Booking.objects.all():
                seats = list(BookingSeat.objects.filter(booking=booking))
                assert seats, f"booking {booking.pk} has no seats"
                if booking.status == S.CONFIRMED:
                    for seat in seats:
                        assert seat.is_live, f"confirmed booking {booking.pk}: seat not live"
                        assert seat.hold_expires_at is None, f"confirmed {booking.pk} lapses"
                    assert Ticket.objects.filter(booking_seat__booking=booking).count() == len(
                        seats
                    ), f"confirmed booking {booking.pk}: not one ticket per seat"
                    assert booking.paid_amount == booking.total
                elif booking.status in (S.CANCELLED, S.EXPIRED):
                    live = [seat.seat_id for seat in seats if seat.is_live]
                    assert not live, f"{booking.status} booking {booking.pk} holds {live}"
                elif booking.expires_at > now:  # pending, inside its hold
                    assert all(
                        seat.is_live and seat.hold_expires_at == booking.expires_at
                        for seat in seats
                    ), f"pending booking {booking.pk} lost a seat inside its hold"

        @invariant()
        def no_booking_moves_back(self) -> None:
            for pk, status in Booking.objects.values_list("pk", "status"):
                seen = self.history[pk]
                if seen:
                    assert status in MAY_FOLLOW[S(seen[-1])], f"booking {pk}: {seen} -> {status}"
                    # Checked against every status seen, not only the last one.
                    for earlier in seen:
                        assert status in MAY_FOLLOW[S(earlier)], f"booking {pk}: {seen} -> {status}"
                if not seen or seen[-1] != status:
                    seen.append(status)

        @invariant()
        def never_refunded_beyond_paid(self) -> None:
            assert not Booking.objects.filter(refunded_amount__gt=F("paid_amount")).exists()
            assert not Booking.objects.filter(paid_amount__lt=Decimal("0")).exists()
            # Money is only ever recorded on a booking that is then confirmed or cancelled (a
            # payment that cannot confirm cancels the booking in the same transaction).
            assert not (
                Booking.objects.filter(paid_amount__gt=0)
                .exclude(status__in=[S.CONFIRMED, S.CANCELLED])
                .exists()
            )

    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )

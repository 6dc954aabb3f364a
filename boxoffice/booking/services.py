"""Holds, cancellations, confirmations and the hold tidy-up: every booking write.

The guarantees live in the database (see :mod:`boxoffice.booking.models` for the partial unique
index, :mod:`boxoffice.booking.states` for the conditional status updates). The checks here only
turn the rare race into a clear message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Seat
from boxoffice.core.errors import Conflict
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from . import pricing, seatmap_cache, signals, states, tickets
from .models import Booking, BookingSeat, BookingStatus, PricePolicy, Ticket

S = BookingStatus


class HoldError(ValueError):
    """The hold request is invalid (400); ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str = "seats") -> None:
        super().__init__(message)
        self.field = field


class SeatsTaken(Conflict):
    """409 naming the seats someone else holds or bought."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        super().__init__(
            f"Seats no longer available: {', '.join(self.labels)}.", code="seats_unavailable"
        )


def _labels(seats: Sequence[Seat]) -> list[str]:
    return [seat.label for seat in sorted(seats, key=lambda s: (s.row_index, s.number))]


def live_taken_seat_ids(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> set[int]:
    """Seats among ``seat_ids`` that a live hold or a sale occupies at ``now``."""
    return set(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=seat_ids, is_live=True)
        .filter(Q(hold_expires_at__isnull=True) | Q(hold_expires_at__gt=now))
        .values_list("seat_id", flat=True)
    )


def _release_lapsed(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> None:
    """Inside the caller's transaction: end lapsed holds on ``seat_ids`` so the seats can be
    claimed. Rows are locked in seat order, like the INSERT that follows, so two buyers of
    overlapping seats queue up instead of deadlocking.

    Only the locked rows change. Their bookings already read as expired (by time) and the
    tidy-up rewrites their status later; updating the bookings or their other seats here would
    take locks outside seat order, and two buyers of two seats of one lapsed booking deadlocked
    on exactly that (tests/concurrency/test_booking_races.py, the mixed-activity test)."""
    lapsed = list(
        BookingSeat.objects.filter(
            showtime_id=showtime_id,
            seat_id__in=seat_ids,
            is_live=True,
            hold_expires_at__lte=now,
        )
        .order_by("seat_id", "id")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if lapsed:
        BookingSeat.objects.filter(pk__in=lapsed).update(is_live=False)


def _lock_seats_of(booking_ids: Sequence[int]) -> None:
    """Lock the bookings' seat rows in seat order before touching the bookings themselves.

    Lock order, everywhere: seat rows (ascending seat id, then row id), then booking rows. Buyers lock seats
    in that order (:func:`_release_lapsed`, the INSERT), confirmations claim seats before they
    move the booking; cancellations and the tidy-up follow the same order, so no two of these
    can wait on each other in a cycle."""
    list(
        BookingSeat.objects.filter(booking_id__in=booking_ids)
        .order_by("seat_id", "id")
        .select_for_update()
        .values_list("pk", flat=True)
    )


def expire_bookings(*, booking_ids: set[int] | None = None, now: datetime | None = None) -> int:
    """Mark lapsed pending bookings expired and free their seats. Safe to run at any time and
    from any process: only rows still pending past their expiry are touched."""
    now = now or timezone.now()
    lapsed = Booking.objects.filter(status=S.PENDING, expires_at__lte=now)
    if booking_ids is not None:
        lapsed = lapsed.filter(pk__in=booking_ids)
    ids = list(lapsed.values_list("pk", flat=True))
    if not ids:
        return 0
    showtime_ids = set(
        BookingSeat.objects.filter(booking_id__in=ids, is_live=True).values_list(
            "showtime_id", flat=True
        )
    )
    for showtime_id in sorted(showtime_ids):
        seatmap_cache.invalidate(showtime_id)
    with transaction.atomic():
        _lock_seats_of(ids)
        # The same conditional update as states.transition, for many rows at once.
        expired = Booking.objects.filter(
            pk__in=ids, status__in=states.ALLOWED[S.EXPIRED], expires_at__lte=now
        ).update(status=S.EXPIRED)
        BookingSeat.objects.filter(
            booking_id__in=ids, is_live=True, hold_expires_at__lte=now
        ).update(is_live=False)
        for showtime_id in sorted(showtime_ids):
            seatmap_cache.invalidate_on_commit(showtime_id)
    return expired


def _validate_hold(*, showtime: Showtime, seat_ids: Sequence[int], now: datetime) -> list[Seat]:
    max_seats = settings.BOOKING_MAX_SEATS
    if not seat_ids:
        raise HoldError("Choose at least one seat.")
    if len(seat_ids) > max_seats:
        raise HoldError(
            f"At most {max_seats} seats can be held at once; {len(seat_ids)} were asked."
        )
    duplicates = sorted({s for s in seat_ids if seat_ids.count(s) > 1})
    if duplicates:
        raise HoldError(f"Each seat may be listed once; repeated: {duplicates}.")
    if showtime.status != ShowtimeStatus.SCHEDULED:
        raise HoldError("This show has been cancelled.", field="showtime")
    if showtime.starts_at <= now:
        raise HoldError("This show has already started.", field="showtime")
    seats = list(Seat.objects.filter(pk__in=seat_ids))
    found = {seat.pk for seat in seats}
    unknown = sorted(set(seat_ids) - found)
    if unknown:
        raise HoldError(f"No such seats: {unknown}.")
    elsewhere = sorted(seat.pk for seat in seats if seat.screen_id != showtime.screen_id)
    if elsewhere:
        raise HoldError(f"Seats {elsewhere} are not in this show's screen.")
    return seats


def create_hold(*, user: User, showtime: Showtime, seat_ids: Sequence[int]) -> Booking:
    """Hold ``seat_ids`` of ``showtime`` for ``user``, all or nothing, for BOOKING_HOLD_SECONDS.

    Raises HoldError (400) for an invalid request and SeatsTaken (409) when any seat is held
    or sold: either found by the check, or refused by the unique index when a racing buyer
    committed first.
    """
    now = timezone.now()
    seats = _validate_hold(showtime=showtime, seat_ids=seat_ids, now=now)
    by_id = {seat.pk: seat for seat in seats}
    taken = live_taken_seat_ids(showtime_id=showtime.pk, seat_ids=list(by_id), now=now)
    if taken:
        raise SeatsTaken(_labels([by_id[pk] for pk in taken]))

    policy = pricing.current_policy()
    timezone_name = showtime.screen.theater.timezone
    prices = {
        seat.pk: pricing.seat_price(
            policy=policy,
            base_price=showtime.base_price,
            tier=seat.tier,
            starts_at=showtime.starts_at,
            timezone_name=timezone_name,
        )
        for seat in seats
    }
    expires_at = now + timedelta(seconds=settings.BOOKING_HOLD_SECONDS)
    seatmap_cache.invalidate(showtime.pk)
    try:
        with transaction.atomic():
            _release_lapsed(showtime_id=showtime.pk, seat_ids=list(by_id), now=now)
            booking = Booking.objects.create(
                user=user,
                showtime=showtime,
                status=S.PENDING,
                expires_at=expires_at,
                total=sum((p.price for p in prices.values()), Decimal("0.00")),
                currency=showtime.currency,
                price_policy=policy,
                created_at=now,
            )
            BookingSeat.objects.bulk_create(
                BookingSeat(
                    booking=booking,
                    showtime=showtime,
                    seat=by_id[seat_id],
                    tier=by_id[seat_id].tier,
                    base_price=prices[seat_id].base_price,
                    tier_factor=prices[seat_id].tier_factor,
                    time_factor=prices[seat_id].time_factor,
                    price=prices[seat_id].price,
                    is_live=True,
                    hold_expires_at=expires_at,
                )
                for seat_id in sorted(by_id)  # seat order: see _release_lapsed
            )
            seatmap_cache.invalidate_on_commit(showtime.pk)
    except IntegrityError as exc:
        # A racing buyer committed one of these seats between our check and our INSERT.
        if "booking_seat_live_once" not in str(exc) and "UNIQUE" not in str(exc).upper():
            raise
        taken = live_taken_seat_ids(
            showtime_id=showtime.pk, seat_ids=list(by_id), now=timezone.now()
        )
        raise SeatsTaken(_labels([by_id[pk] for pk in taken] or seats)) from exc
    return booking


def _cancel(
    booking: Booking,
    *,
    reason: str,
    now: datetime,
    notify: bool = True,
    extra_condition: Q | None = None,
    **fields: object,
) -> None:
    """The one way a booking becomes cancelled: lock its seats (the global lock order), move it
    through the state machine (raises TransitionRefused), free its seats, and, unless
    ``notify`` is off, tell the layers above inside the same transaction (refund, email)."""
    seatmap_cache.invalidate(booking.showtime_id)
    with transaction.atomic():
        _lock_seats_of([booking.pk])
        states.transition(
            booking,
            S.CANCELLED,
            extra_condition=extra_condition,
            cancelled_at=now,
            cancel_reason=reason,
            **fields,
        )
        BookingSeat.objects.filter(booking=booking, is_live=True).update(is_live=False)
        seatmap_cache.invalidate_on_commit(booking.showtime_id)
        if notify:
            signals.booking_cancelled.send(
                sender=Booking, booking=booking, was_paid=booking.paid_amount > 0
            )


def cancel_booking(*, booking: Booking, now: datetime | None = None) -> Booking:
    """Cancel a pending booking (its seats are released) or a confirmed one whose show is more
    than BOOKING_CANCEL_CUTOFF_MINUTES away (seats released; the refund is recorded). Anything
    else is a 409 that says why."""
    now = now or timezone.now()
    current = states.effective_status(booking, now)
    if current == S.EXPIRED:
        raise Conflict(
            "This booking's hold has expired; there is nothing to cancel.", code="booking_expired"
        )
    if current == S.CANCELLED:
        raise Conflict("This booking is already cancelled.", code="booking_cancelled")
    if current == S.CONFIRMED:
        cutoff = booking.showtime.starts_at - timedelta(
            minutes=settings.BOOKING_CANCEL_CUTOFF_MINUTES
        )
        if now >= cutoff:
            raise Conflict(
                f"Paid bookings can be cancelled until {settings.BOOKING_CANCEL_CUTOFF_MINUTES} "
                "minutes before the show.",
                code="cancellation_closed",
            )
    try:
        # A pending booking only while its hold runs: a lapsed one is expired, not cancellable.
        _cancel(
            booking,
            reason="customer",
            now=now,
            extra_condition=Q(status=S.CONFIRMED) | Q(expires_at__gt=now),
        )
    except states.TransitionRefused as exc:
        raise Conflict(
            f"This booking can no longer be cancelled (it is {exc.current}).",
            code="invalid_state",
        ) from exc
    return booking


class ConfirmOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    SEATS_LOST = "seats_lost"
    NOT_CONFIRMABLE = "not_confirmable"


def confirm_booking(
    *, booking: Booking, paid_amount: Decimal, now: datetime | None = None
) -> ConfirmOutcome:
    """Record payment and make the seats the customer's for good.

    While the hold runs, its rows are live and simply stop lapsing. After the hold expired, the
    seats are claimed again if still free; the unique index refuses the claim if another buyer
    holds or bought any of them, and then the booking is not confirmed: the caller refunds.
    A replay for a confirmed booking changes nothing; a cancelled booking is not revived.
    """
    now = now or timezone.now()
    booking.refresh_from_db(fields=["status"])
    if booking.status == S.CONFIRMED:
        return ConfirmOutcome.ALREADY_CONFIRMED
    if booking.status == S.CANCELLED:
        return ConfirmOutcome.NOT_CONFIRMABLE
    seat_ids = list(booking.seats.values_list("seat_id", flat=True))
    seatmap_cache.invalidate(booking.showtime_id)
    try:
        with transaction.atomic():
            # Lock our rows and every live row on our seats in the one global order (seat, id)
            # before changing any, as buyers and cancellations do: no cycle of waits.
            list(
                BookingSeat.objects.filter(showtime_id=booking.showtime_id, seat_id__in=seat_ids)
                .filter(Q(booking=booking) | Q(is_live=True))
                .order_by("seat_id", "id")
                .select_for_update()
                .values_list("pk", flat=True)
            )
            _release_lapsed(showtime_id=booking.showtime_id, seat_ids=seat_ids, now=now)
            # Our own lapsed rows were just released too; claim every seat back.
            BookingSeat.objects.filter(booking=booking).update(is_live=True, hold_expires_at=None)
            states.transition(booking, S.CONFIRMED, confirmed_at=now, paid_amount=paid_amount)
            _issue_tickets(booking, now=now)
            seatmap_cache.invalidate_on_commit(booking.showtime_id)
            signals.booking_confirmed.send(sender=Booking, booking=booking)
    except IntegrityError:
        return ConfirmOutcome.SEATS_LOST
    except states.TransitionRefused as exc:
        if exc.current == S.CONFIRMED:
            return ConfirmOutcome.ALREADY_CONFIRMED
        return ConfirmOutcome.NOT_CONFIRMABLE
    return ConfirmOutcome.CONFIRMED


def release_unpayable_hold(*, booking: Booking) -> None:
    """Give the seats of a just-made hold back because payment cannot start (the provider is
    unreachable). No email, no refund: nothing was paid."""
    with contextlib.suppress(states.TransitionRefused):  # already moved on: nothing to give back
        _cancel(booking, reason="payment_unavailable", now=timezone.now(), notify=False)


def _issue_tickets(booking: Booking, *, now: datetime) -> None:
    Ticket.objects.bulk_create(
        Ticket(booking_seat=seat, code=tickets.new_code(), issued_at=now)
        for seat in BookingSeat.objects.filter(booking=booking).order_by("seat_id")
    )


def cancel_unfulfillable(
    *, booking: Booking, paid_amount: Decimal, now: datetime | None = None
) -> bool:
    """A payment arrived for a booking whose seats are gone (its hold lapsed and another buyer
    took a seat). Record the money and cancel, so the refund follows (``booking_cancelled``
    with ``was_paid``). Returns False when the booking had already moved on."""
    try:
        _cancel(
            booking,
            reason="seats_lost",
            now=now or timezone.now(),
            paid_amount=paid_amount,
            extra_condition=Q(status__in=[S.PENDING, S.EXPIRED]),
        )
    except states.TransitionRefused:
        return False
    return True


def record_refund(*, booking: Booking, amount: Decimal) -> None:
    """Add a refund that the payment provider has confirmed. The database refuses a total
    refund above what was paid (booking_refund_not_above_paid)."""
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=F("refunded_amount") + amount)
    booking.refresh_from_db(fields=["refunded_amount"])


def check_in(*, code: str, by: User, now: datetime | None = None) -> Ticket:
    """Admit the holder of ``code`` once. Raises NotFound for a forged, unknown or cancelled
    code and Conflict (409) when the ticket was already used."""
    from rest_framework.exceptions import NotFound

    now = now or timezone.now()
    if not tickets.is_authentic(code):
        raise NotFound("No such ticket.")
    ticket = (
        Ticket.objects.select_related("booking_seat__booking", "booking_seat__seat")
        .filter(code=code.strip().upper())
        .first()
    )
    if ticket is None or ticket.booking_seat.booking.status != S.CONFIRMED:
        raise NotFound("No such ticket.")
    # The conditional update is what admits once, even when two doors scan at the same moment.
    admitted = Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=True).update(
        checked_in_at=now, checked_in_by=by
    )
    if not admitted:
        ticket.refresh_from_db(fields=["checked_in_at"])
        raise Conflict(
            f"This ticket was already checked in at {ticket.checked_in_at.isoformat()}.",
            code="already_checked_in",
        )
    ticket.checked_in_at = now
    return ticket


def new_price_policy(*, by: User | None, **factors: object) -> PricePolicy:
    """Save a new version of the price factors; unspecified ones carry over. Shows' seat maps
    are re-rendered (their prices change); bookings keep the prices they were made with."""
    current = pricing.current_policy()
    values = {
        name: factors.get(name, getattr(current, name)) for name in PricePolicy.VERSION_FIELDS
    }
    policy = PricePolicy.objects.create(created_by=by, **values)
    seatmap_cache.invalidate_all()
    return policy

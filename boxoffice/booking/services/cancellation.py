"""Ending bookings: the one way a booking becomes cancelled (:func:`_cancel`), a customer's or an
admin's cancel, the end of a cancelled show's bookings, and of the lapsed holds with an open
payment when a show moves."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.schedule.models import Showtime

from .. import locks, rules, seatmap_cache, signals, states
from ..models import Booking, BookingSeat, BookingStatus

S = BookingStatus


def _cancel(
    locked: Booking,
    *,
    reason: str,
    now: datetime,
    notify: bool = True,
    announce: bool = True,
    **fields: Any,
) -> None:
    """The one way a booking becomes cancelled, on a booking locked by the caller's
    transaction (see :func:`boxoffice.booking.locks.lock_booking`): move it through the state machine, free its
    seats, and tell the layers above in the same transaction: ``booking_cancelled`` (the
    email), ``refund_due`` when money is owed back, ``holds_ended`` when an unpaid payment may
    still be open. ``announce`` off: the caller announces the seat map change itself (once for
    many bookings)."""
    was_pending = locked.status == S.PENDING
    states.transition(locked, S.CANCELLED, cancelled_at=now, cancel_reason=reason, **fields)
    live = BookingSeat.objects.filter(booking=locked, is_live=True)
    freed = list(live.values_list("seat_id", flat=True))
    live.update(is_live=False)
    if freed and announce:
        seatmap_cache.seats_changed(locked.showtime_id, freed)
    was_paid = locked.paid_amount > 0
    if notify:
        signals.booking_cancelled.send(sender=Booking, booking=locked, was_paid=was_paid)
    if locked.paid_amount > locked.refunded_amount:
        signals.refund_due.send(sender=Booking, booking=locked)
    elif was_pending and locked.payment_intent_id:
        signals.holds_ended.send(sender=Booking, booking_ids=[locked.pk])


def cancel_booking(*, booking: Booking, by: User, now: datetime | None = None) -> Booking:
    """Cancel a booking for its customer (or an admin), decided on the locked row by
    :func:`boxoffice.booking.rules.cancel_refusal`.

    A pending booking whose hold runs: its seats are released. A confirmed one: released and
    refunded in full, if its show is more than BOOKING_CANCEL_CUTOFF_MINUTES away and none of
    its tickets has been used; an admin (customer service) may cancel and refund at any time.
    Anything else is a 409 saying why. Whether a ticket was used is read after the booking's
    lock, which check-in also takes (shared) before it admits: so either the door admitted first
    and this cancel sees it, or this cancel commits first and the door refuses the ticket.
    """
    now = now or timezone.now()
    with locks.atomic():
        locked = locks.lock_booking(booking.pk)
        refusal = rules.cancel_refusal(
            locked, by=by, now=now, used_seats=rules.used_seat_labels(locked)
        )
        if refusal is not None:
            raise refusal
        _cancel(
            locked, reason="admin" if by.is_admin and by != locked.user else "customer", now=now
        )
    booking.refresh_from_db()
    return booking


def cancel_bookings_of_show(*, showtime: Showtime, now: datetime | None = None) -> int:
    """The show was cancelled: end every booking of it that still holds or owns seats, one
    booking per transaction (a sold-out show is hundreds), whatever the cut-off. Paid ones are
    refunded in full, unpaid holds have their payment closed, and every customer with a running
    hold or a sale is emailed (``booking_cancelled`` with the reason ``show_cancelled``).
    Safe to repeat: it only finds bookings not yet ended."""
    now = now or timezone.now()
    ended = 0
    ids = Booking.objects.filter(
        showtime=showtime, status__in=[S.PENDING, S.CONFIRMED]
    ).values_list("pk", flat=True)
    for booking_id in list(ids):
        with locks.atomic():
            locked = locks.lock_booking(booking_id)
            if locked.status not in (S.PENDING, S.CONFIRMED):
                continue  # ended meanwhile
            notify = states.effective_status(locked, now) != S.EXPIRED
            # The seat map is announced once, for the whole show, below.
            _cancel(locked, reason="show_cancelled", now=now, notify=notify, announce=False)
            ended += 1
    if ended:
        seatmap_cache.seats_changed(showtime.pk)
    return ended


def end_payable_lapsed_bookings(*, showtime_id: int, now: datetime | None = None) -> int:
    """The show's start, screen, movie or currency is about to change (the caller holds the
    show's row): end every booking of it whose hold lapsed while a payment was open for it.
    Such a payment can still succeed at the provider; it must then be judged against the show
    as it is now, where those seats may not exist or the time is another, so it is refunded
    (``paid_after_cancel``) instead of confirming seats of a show that has moved. The open
    payment is closed as for any ended hold (``holds_ended``); nobody is emailed: their hold
    had already lapsed. Running holds and sales are not touched: the caller refuses the change
    while there are any."""
    now = now or timezone.now()
    ids = list(
        Booking.objects.filter(showtime_id=showtime_id)
        .with_effective_status(S.EXPIRED, now)
        .exclude(payment_intent_id="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    with locks.atomic():  # a savepoint of the caller's transaction, lock waits bounded
        for booking_id in ids:
            locked = locks.lock_booking(booking_id)
            if states.effective_status(locked, now) != S.EXPIRED:
                continue  # paid meanwhile: the caller's check of live bookings refuses it
            _cancel(locked, reason="show_changed", now=now, notify=False)
    return len(ids)

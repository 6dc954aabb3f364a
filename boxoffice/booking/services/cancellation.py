"""Ending bookings: the one way a booking becomes cancelled (:func:`_cancel`), a customer's or an
admin's cancel (of the whole booking or of some of its seats), the end of a cancelled show's
bookings, and of the lapsed holds with an open payment when a show moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.core.errors import Invalid
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
    live.update(is_live=False, cancelled_at=now)
    if freed and announce:
        seatmap_cache.seats_changed(locked.showtime_id, freed)
    was_paid = locked.paid_amount + rules.applied_credit(locked) > 0
    if notify:
        signals.booking_cancelled.send(sender=Booking, booking=locked, was_paid=was_paid)
    if rules.refund_owed(locked) > 0:
        signals.refund_due.send(sender=Booking, booking=locked)
    elif was_pending and locked.payment_intent_id:
        signals.holds_ended.send(sender=Booking, booking_ids=[locked.pk])


def cancel_booking(
    *,
    booking: Booking,
    by: User,
    seat_ids: Sequence[int] | None = None,
    now: datetime | None = None,
) -> Booking:
    """Cancel a booking, or some of its seats (``seat_ids``: seat ids of the booking, each
    once), for its customer (or an admin), decided on the locked rows by
    :func:`boxoffice.booking.rules.cancel_refusal`.

    A pending booking whose hold runs: its seats are released. A confirmed one: released and
    refunded, if its show is more than BOOKING_CANCEL_CUTOFF_MINUTES away and none of the
    seats cancelled has a used ticket (the rule is per seat); an admin (customer service) may
    cancel and refund at any time. Anything else is a 409 saying why. Whether a ticket was used
    is read after the booking's lock, which check-in also takes (shared) before it admits: so
    either the door admitted first and this cancel sees it, or this cancel commits first and the
    door refuses the ticket.

    Some seats only (:func:`_cancel_seats`): when ``seat_ids`` leaves other seats of the booking
    standing. Naming every remaining seat is the same as cancelling the whole booking. Seats
    not of the booking, or cancelled already, are a 400 naming them, and nothing changes.
    """
    now = now or timezone.now()
    with locks.atomic():
        locked = locks.lock_booking(booking.pk)
        chosen = None if seat_ids is None else _chosen_seats(locked, seat_ids)
        refusal = rules.cancel_refusal(
            locked,
            by=by,
            now=now,
            used_seats=rules.used_seat_labels(
                locked, None if chosen is None else [row.seat_id for row in chosen]
            ),
        )
        if refusal is not None:
            raise refusal
        remaining = BookingSeat.objects.filter(booking=locked, cancelled_at__isnull=True).count()
        reason = "admin" if by.is_admin and by != locked.user else "customer"
        if chosen is not None and len(chosen) < remaining:
            refusal = rules.partial_cancel_refusal(locked)
            if refusal is not None:
                raise refusal
            _cancel_seats(locked, chosen, now=now)
        else:
            _cancel(locked, reason=reason, now=now)
    booking.refresh_from_db()
    return booking


def _chosen_seats(locked: Booking, seat_ids: Sequence[int]) -> list[BookingSeat]:
    """The booking's seat rows for ``seat_ids``, read under the booking's lock; 400 naming the
    seats that are not the booking's, or that were cancelled already."""
    rows = {
        row.seat_id: row
        for row in BookingSeat.objects.filter(booking=locked, seat_id__in=list(seat_ids))
        .select_related("seat")
        .order_by("seat_id")
    }
    foreign = [str(seat_id) for seat_id in seat_ids if seat_id not in rows]
    if foreign:
        raise Invalid(
            f"Seat(s) {', '.join(foreign)} are not seats of this booking.",
            code="not_in_booking",
            attr="seats",
        )
    gone = [rows[seat_id].seat.label for seat_id in seat_ids if rows[seat_id].cancelled_at]
    if gone:
        raise Invalid(
            f"Seat(s) {', '.join(gone)} of this booking are cancelled already.",
            code="seat_cancelled",
            attr="seats",
        )
    return list(rows.values())


def _cancel_seats(locked: Booking, rows: list[BookingSeat], *, now: datetime) -> None:
    """Cancel some seats of a pending or confirmed booking that keeps others (the caller holds
    the booking's lock and has checked the rules): the seats are free at once and their tickets
    no longer admit (check-in admits only a live seat), the booking's ``total`` becomes the
    price of the seats it keeps, and a paid booking is owed those seats' prices back:
    ``refund_due`` with a reason of this cancellation's own (``seats-<first row id>``: the rows
    are cancelled once, so no two cancellations share it), so the payment layer makes one
    refund per cancellation (:func:`boxoffice.booking.rules.refund_owed` caps it)."""
    ids = [row.pk for row in rows]
    BookingSeat.objects.filter(pk__in=ids).update(is_live=False, cancelled_at=now)
    kept = BookingSeat.objects.filter(booking=locked, cancelled_at__isnull=True).aggregate(
        t=Sum("price")
    )["t"] or Decimal("0.00")
    kept = kept.quantize(Decimal("0.01"))
    Booking.objects.filter(pk=locked.pk).update(total=kept)
    locked.total = kept
    seatmap_cache.seats_changed(locked.showtime_id, [row.seat_id for row in rows])
    if locked.status == S.CONFIRMED and rules.refund_owed(locked) > 0:
        signals.refund_due.send(
            sender=Booking,
            booking=locked,
            reason=f"seats-{min(ids)}",
            amount=sum((row.price for row in rows), Decimal("0.00")),
        )


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

"""Who may end a booking, and when: the rules the cancel service enforces on locked rows and
the pages ask before they offer a button. One home, so the shop never shows "Cancel" for a
booking the API would refuse.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from boxoffice.accounts.models import User
from boxoffice.core.errors import Conflict

from . import states
from .models import Booking, BookingSeat, BookingStatus, Ticket

S = BookingStatus
ZERO = Decimal("0.00")


def live_total(booking: Booking) -> Decimal:
    """The price of the seats the booking still holds or owns (its live seat rows); from its
    prefetched seats when it has them, else one query."""
    prefetched = getattr(booking, "_prefetched_objects_cache", {}).get("seats")
    if prefetched is not None:
        return sum((row.price for row in prefetched if row.is_live), ZERO)
    found = BookingSeat.objects.filter(booking_id=booking.pk, is_live=True).aggregate(
        t=Sum("price")
    )
    return found["t"] or ZERO


def refund_owed(booking: Booking, *, live: Decimal | None = None) -> Decimal:
    """What the customer is owed back now (the money invariant, docs/api.md):

    - a confirmed booking keeps the price of its live seats: owed is ``paid_amount + credit -
      refunded_amount - live total`` (seats cancelled on their own are owed back);
    - a booking that is not confirmed keeps nothing: owed is ``paid_amount - refunded_amount``.

    Never negative, and never more than ``paid_amount - refunded_amount`` (only money paid to
    this booking can be refunded from it). ``live``: the live total when the caller has it."""
    refundable = max(booking.paid_amount - booking.refunded_amount, ZERO)
    if booking.status != S.CONFIRMED:
        return refundable
    if live is None:
        live = live_total(booking)
    owed = booking.paid_amount + booking.credit - booking.refunded_amount - live
    return min(max(owed, ZERO), refundable)


def cancel_refund(booking: Booking, rows: Sequence[BookingSeat] | None = None) -> Decimal:
    """What cancelling ``rows`` (None: every seat the booking keeps) pays back, as the cancel
    service owes it: a paid, confirmed booking is refunded the seats' frozen prices, never more
    than was paid and not yet refunded; anything else nothing. What pages show on the button."""
    if booking.status != S.CONFIRMED or booking.paid_amount <= 0:
        return ZERO
    prices = (
        live_total(booking)
        if rows is None
        else sum((row.price for row in rows if row.is_live), ZERO)
    )
    return min(prices, max(booking.paid_amount - booking.refunded_amount, ZERO))


def used_seat_labels(booking: Booking, seat_ids: Collection[int] | None = None) -> list[str]:
    """Labels of the booking's seats whose tickets have been through the door, in seat order:
    of its seats not cancelled on their own, or of ``seat_ids`` only (a partial cancellation
    asks about the seats it cancels: the checked-in rule is per seat). From the booking's
    prefetched seats and tickets when it has them (lists of bookings), else one query."""
    prefetched = getattr(booking, "_prefetched_objects_cache", {}).get("seats")
    if prefetched is not None:
        used = [
            row.seat
            for row in prefetched
            if row.cancelled_at is None
            and (seat_ids is None or row.seat_id in seat_ids)
            and hasattr(row, "ticket")
            and row.ticket.checked_in_at is not None
        ]
    else:
        tickets = Ticket.objects.filter(
            booking_seat__booking_id=booking.pk,
            booking_seat__cancelled_at__isnull=True,
            checked_in_at__isnull=False,
        )
        if seat_ids is not None:
            tickets = tickets.filter(booking_seat__seat_id__in=list(seat_ids))
        used = [ticket.booking_seat.seat for ticket in tickets.select_related("booking_seat__seat")]
    return [seat.label for seat in sorted(used, key=lambda seat: (seat.row_index, seat.number))]


def partial_cancel_refusal(booking: Booking) -> Conflict | None:
    """Why some seats of a pending booking cannot be released alone (a 409), or None: once the
    pay step has opened a payment for the booking's total, that payment may still succeed for
    the old total, so the seats can only be released all together (cancel without ``seats``)."""
    if booking.status == S.PENDING and booking.payment_intent_id:
        return Conflict(
            "A payment for this booking's total is already open: cancel the whole booking, "
            "or pay for all of its seats.",
            code="payment_open",
        )
    return None


def cancellation_closes_at(booking: Booking) -> datetime:
    """When its customer can no longer cancel a paid booking online: BOOKING_CANCEL_CUTOFF_MINUTES
    before the show."""
    return booking.showtime.starts_at - timedelta(minutes=settings.BOOKING_CANCEL_CUTOFF_MINUTES)


def cancel_refusal(
    booking: Booking, *, by: User, now: datetime, used_seats: Sequence[str]
) -> Conflict | None:
    """Why ``by`` may not cancel ``booking`` now (a 409 to raise), or None when they may.

    - An expired hold or a cancelled booking has nothing left to cancel.
    - A customer cancels a paid booking (or some of its seats) until
      BOOKING_CANCEL_CUTOFF_MINUTES before the show, and never a seat whose ticket has been used
      at the door (``checked_in``; ``used_seats`` are the used ones among the seats being
      cancelled): doors open before the cut-off, and a used ticket is not money to give back.
    - An admin (customer service) may cancel and refund at any time, used tickets included;
      the answer then names the used seats (``checked_in_seats``).
    """
    current = states.effective_status(booking, now)
    if current == S.EXPIRED:
        return Conflict(
            "This booking's hold has expired; there is nothing to cancel.", code="booking_expired"
        )
    if current == S.CANCELLED:
        return Conflict("This booking is already cancelled.", code="booking_cancelled")
    if current != S.CONFIRMED or by.is_admin:
        return None
    if used_seats:
        return Conflict(
            f"Seat(s) {', '.join(used_seats)} of this booking have been checked in at the door, "
            "so they can no longer be cancelled; ask the box office.",
            code="checked_in",
        )
    if now >= cancellation_closes_at(booking):
        return Conflict(
            f"Paid bookings can be cancelled until {settings.BOOKING_CANCEL_CUTOFF_MINUTES} "
            "minutes before the show; after that, ask the box office.",
            code="cancellation_closed",
        )
    return None

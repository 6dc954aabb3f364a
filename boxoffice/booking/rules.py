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
    # Two places, whatever the database's sum gives back (SQLite drops trailing zeros).
    return (found["t"] or ZERO).quantize(ZERO)


def passed_on(booking: Booking) -> Decimal:
    """The credit an exchanged booking handed on: the credit of the booking it was exchanged
    for, once that exchange completed (0 for any other booking). One query."""
    found = Booking.objects.filter(exchange_of_id=booking.pk, confirmed_at__isnull=False).aggregate(
        t=Sum("credit")
    )
    return found["t"] or ZERO


def applied_credit(booking: Booking) -> Decimal:
    """The credit a booking brought from an exchange, once the exchange completed (a pending
    exchange whose hold lapsed never used it)."""
    return booking.credit if booking.confirmed_at is not None else ZERO


def refund_owed(booking: Booking, *, live: Decimal | None = None) -> Decimal:
    """What the customer is owed back now (the money invariant, docs/api.md). A booking holds
    ``paid_amount + credit - refunded_amount`` (the credit once its exchange completed) and
    keeps:

    - confirmed: the price of its live seats (seats cancelled on their own are owed back);
    - exchanged: the credit it handed to the booking it was exchanged for;
    - anything else: nothing.

    Never negative, and never more than the booking holds: only money paid to it, or brought
    to it by an exchange (captured on the exchanged booking's payment), is refunded from it.
    ``live``: the live total when the caller has it."""
    holds = max(booking.paid_amount + applied_credit(booking) - booking.refunded_amount, ZERO)
    if booking.status == S.CONFIRMED:
        keeps = live_total(booking) if live is None else live
    elif booking.status == S.EXCHANGED:
        keeps = passed_on(booking)
    else:
        keeps = ZERO
    return min(max(holds - keeps, ZERO), holds)


def cancel_refund(booking: Booking, rows: Sequence[BookingSeat] | None = None) -> Decimal:
    """What cancelling ``rows`` (None: every seat the booking keeps) pays back, as the cancel
    service owes it: a paid, confirmed booking is refunded the seats' frozen prices, never more
    than was paid and not yet refunded; anything else nothing. What pages show on the button."""
    holds = booking.paid_amount + applied_credit(booking) - booking.refunded_amount
    if booking.status != S.CONFIRMED or holds <= 0:
        return ZERO
    prices = (
        live_total(booking)
        if rows is None
        else sum((row.price for row in rows if row.is_live), ZERO)
    )
    return min(prices, holds)


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
    the old total, so the seats can only be released all together (cancel without ``seats``);
    nor those of a pending exchange, whose amount due was set against its credit (released
    seat by seat, it could fall below the credit and never be payable)."""
    if booking.status == S.PENDING and booking.exchange_of_id:
        return Conflict(
            "This booking is an exchange waiting for its payment; its seats were priced against "
            "the credit of the booking it replaces: release them all (cancel without seats), "
            "or pay what is due.",
            code="exchange_pending",
        )
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
    if current == S.EXCHANGED:
        return Conflict(
            "This booking was exchanged for another; cancel that one instead.",
            code="booking_exchanged",
        )
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


def exchange_refusal(
    booking: Booking, *, by: User, now: datetime, currency: str, used_seats: Sequence[str]
) -> Conflict | None:
    """Why ``by`` may not exchange ``booking`` for seats of a show in ``currency`` now (a 409),
    or None when they may. Decided on the locked booking by the exchange service:

    - only a confirmed booking is exchanged (``not_confirmed``);
    - into a show of the same currency (``currency_mismatch``): the credit is money in it;
    - a customer until BOOKING_CANCEL_CUTOFF_MINUTES before the old show (``cutoff``), and
      never a booking with a ticket used at the door (``checked_in``); an admin at any time.
    """
    if states.effective_status(booking, now) != S.CONFIRMED:
        return Conflict(
            f"Booking {booking.pk} is {states.effective_status(booking, now)}; only a confirmed "
            "booking can be exchanged.",
            code="not_confirmed",
        )
    if currency != booking.currency:
        return Conflict(
            f"The new show is sold in {currency.upper()}, this booking was paid in "
            f"{booking.currency.upper()}; exchange into a show of the same currency.",
            code="currency_mismatch",
        )
    if by.is_admin:
        return None
    if used_seats:
        return Conflict(
            f"Seat(s) {', '.join(used_seats)} of this booking have been checked in at the door, "
            "so it can no longer be exchanged; ask the box office.",
            code="checked_in",
        )
    if now >= cancellation_closes_at(booking):
        return Conflict(
            f"Bookings can be exchanged until {settings.BOOKING_CANCEL_CUTOFF_MINUTES} minutes "
            "before the show; after that, ask the box office.",
            code="cutoff",
        )
    return None

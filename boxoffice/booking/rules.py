"""Who may end a booking, and when: the rules the cancel service enforces on locked rows and
the pages ask before they offer a button. One home, so the shop never shows "Cancel" for a
booking the API would refuse.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from boxoffice.accounts.models import User
from boxoffice.core.errors import Conflict

from . import states
from .models import Booking, BookingStatus, Ticket

S = BookingStatus


def refund_owed(booking: Booking) -> Decimal:
    """What the customer is owed back now: paid minus refunded, for a booking that is not
    confirmed. A confirmed booking's money is earned, never refunded (the money invariant)."""
    if booking.status == S.CONFIRMED:
        return Decimal("0.00")
    return max(booking.paid_amount - booking.refunded_amount, Decimal("0.00"))


def used_seat_labels(booking: Booking) -> list[str]:
    """Labels of the booking's seats whose tickets have been through the door, in seat order.
    From the booking's prefetched seats and tickets when it has them (lists of bookings), else
    one query."""
    prefetched = getattr(booking, "_prefetched_objects_cache", {}).get("seats")
    if prefetched is not None:
        used = [
            row.seat
            for row in prefetched
            if hasattr(row, "ticket") and row.ticket.checked_in_at is not None
        ]
    else:
        used = [
            ticket.booking_seat.seat
            for ticket in Ticket.objects.filter(
                booking_seat__booking_id=booking.pk, checked_in_at__isnull=False
            ).select_related("booking_seat__seat")
        ]
    return [seat.label for seat in sorted(used, key=lambda seat: (seat.row_index, seat.number))]


def cancellation_closes_at(booking: Booking) -> datetime:
    """When its customer can no longer cancel a paid booking online: BOOKING_CANCEL_CUTOFF_MINUTES
    before the show."""
    return booking.showtime.starts_at - timedelta(minutes=settings.BOOKING_CANCEL_CUTOFF_MINUTES)


def cancel_refusal(
    booking: Booking, *, by: User, now: datetime, used_seats: Sequence[str]
) -> Conflict | None:
    """Why ``by`` may not cancel ``booking`` now (a 409 to raise), or None when they may.

    - An expired hold or a cancelled booking has nothing left to cancel.
    - A customer cancels a paid booking until BOOKING_CANCEL_CUTOFF_MINUTES before the show,
      and never once a ticket of it has been used at the door (``checked_in``): doors open
      before the cut-off, and a used ticket is not money to give back.
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
            "so it can no longer be cancelled; ask the box office.",
            code="checked_in",
        )
    if now >= cancellation_closes_at(booking):
        return Conflict(
            f"Paid bookings can be cancelled until {settings.BOOKING_CANCEL_CUTOFF_MINUTES} "
            "minutes before the show; after that, ask the box office.",
            code="cancellation_closed",
        )
    return None

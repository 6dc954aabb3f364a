"""Confirming: the tickets a confirmed booking gets, and the end of an exchange (shared by the
exchange service, when the credit covers the new booking, and by ``record_payment``, when the
new booking's payment is recorded)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .. import rules, seatmap_cache, signals, states, tickets
from ..models import Booking, BookingSeat, BookingStatus, Ticket

S = BookingStatus


def issue_tickets(booking: Booking, *, now: datetime) -> None:
    """One ticket per seat the booking has not cancelled."""
    Ticket.objects.bulk_create(
        Ticket(booking_seat=seat, code=tickets.new_code(), issued_at=now)
        for seat in BookingSeat.objects.filter(booking=booking, cancelled_at__isnull=True).order_by(
            "seat_id"
        )
    )


def exchange_still_valid(old: Booking, new: Booking) -> bool:
    """Whether the old booking (locked) can still be exchanged for ``new``: confirmed, worth
    the credit the new booking was given (no seat of it cancelled meanwhile), and none of its
    tickets used at the door since the exchange was asked for (a used ticket is not credit).
    Check-in takes the booking's row shared before it admits, so under our lock either its
    admission is seen here or it comes after the old booking ended, and is refused."""
    return (
        old.status == S.CONFIRMED
        and rules.live_total(old) == new.credit
        and not rules.used_seat_labels(old)
    )


def complete_exchange(*, old: Booking, new: Booking, now: datetime) -> None:
    """The exchange completes (both bookings locked by the caller, the new one's seats live):
    the new booking is confirmed (its seats paid, tickets issued and emailed), the old one
    ``exchanged`` (its seats free at once, its tickets dead: check-in admits only a confirmed
    booking's live seats), and what the new booking holds beyond its seats' price (its credit
    above its total) is owed back: ``refund_due`` with the reason ``exchange``."""
    new_seats = list(
        BookingSeat.objects.filter(booking=new, cancelled_at__isnull=True).values_list(
            "seat_id", flat=True
        )
    )
    BookingSeat.objects.filter(booking=new, cancelled_at__isnull=True).update(
        is_live=True, hold_expires_at=None
    )
    if new.status != S.CONFIRMED:
        states.transition(new, S.CONFIRMED, confirmed_at=now)
        issue_tickets(new, now=now)
        seatmap_cache.seats_changed(new.showtime_id, new_seats)
        signals.booking_confirmed.send(sender=Booking, booking=new)
    states.transition(old, S.EXCHANGED, cancelled_at=now, cancel_reason="exchanged")
    live = BookingSeat.objects.filter(booking=old, is_live=True)
    freed = list(live.values_list("seat_id", flat=True))
    live.update(is_live=False)
    if freed:
        seatmap_cache.seats_changed(old.showtime_id, freed)
    surplus = new.paid_amount + new.credit - new.total
    if surplus > Decimal("0.00"):
        signals.refund_due.send(sender=Booking, booking=new, reason="exchange", amount=surplus)

"""The booking state machine: the only code that changes ``Booking.status``.

    pending  --pay-->      confirmed --cancel--> cancelled
    pending  --cancel-->   cancelled
    pending  --time-->     expired   (the hold lapsed; its seats are free at once)
    expired  --late pay--> confirmed (only while the seats are still free)
    expired  --late pay--> cancelled (seats lost: refunded)
    confirmed --exchange completes--> exchanged (its value is the new booking's credit)

Each transition is a conditional UPDATE (``WHERE status IN <allowed sources>``) whose row count
is checked, so two racing transitions cannot both apply and no late or repeated event can move a
booking backwards: a confirmed booking is never made pending or expired again.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from boxoffice.core.errors import Conflict

from .models import Booking, BookingStatus

S = BookingStatus

ALLOWED: dict[str, frozenset[str]] = {
    S.CONFIRMED: frozenset({S.PENDING, S.EXPIRED}),
    S.CANCELLED: frozenset({S.PENDING, S.CONFIRMED, S.EXPIRED}),
    S.EXPIRED: frozenset({S.PENDING}),
    S.PENDING: frozenset(),
    S.EXCHANGED: frozenset({S.CONFIRMED}),
}


class TransitionRefused(Conflict):
    """409 ``invalid_transition``: the booking was not in a state from which the transition is
    allowed (the services check first, so reaching it means a state changed under us)."""

    def __init__(self, booking_id: int, target: str, current: str | None) -> None:
        super().__init__(
            f"Booking {booking_id} is {current or 'gone'}; it cannot become {target}.",
            code="invalid_transition",
        )
        self.booking_id = booking_id
        self.target = target
        self.current = current


def effective_status(booking: Booking, now: datetime | None = None) -> str:
    """What the booking is right now: a pending booking past its hold is expired."""
    if booking.hold_has_lapsed(now or timezone.now()):
        return S.EXPIRED
    return booking.status


def transition(booking: Booking, target: str, **fields: object) -> None:
    """Move ``booking`` to ``target`` (and set ``fields``) if, and only if, the database row is
    in an allowed source state; otherwise raise :class:`TransitionRefused`. Updates the instance."""
    sources = ALLOWED[target]
    rows = Booking.objects.filter(pk=booking.pk, status__in=sources)
    if rows.update(status=target, **fields) != 1:
        current = Booking.objects.filter(pk=booking.pk).values_list("status", flat=True).first()
        raise TransitionRefused(booking.pk, target, current)
    booking.status = target
    for name, value in fields.items():
        setattr(booking, name, value)

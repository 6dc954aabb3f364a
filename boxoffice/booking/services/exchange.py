"""Exchanging a confirmed booking for seats of another show (or other seats of the same one),
issue 17: :func:`exchange_booking` makes the new booking, :func:`complete_exchange` ends the
old one when the new one is paid for (at once when its credit covers it).

Money. The new booking's ``credit`` is the old booking's value: the price of the seats it
keeps (its ``paid_amount + credit - refunded_amount`` once its own refunds are made). When
the exchange completes, the old booking is ``exchanged``: it keeps nothing but the credit it
handed on, its seats are free and its tickets dead. The new booking holds ``paid_amount +
credit`` (it pays ``amount_due = total - credit``, or nothing), and what it holds beyond its
live seats' price is refunded (through Stripe, against the old booking's payment: see
``payments.services.refund_sources``). So over an exchange chain, money captured less money
refunded is the final booking's live total (``tests/invariants.py``, "exchange chain").

Locks. An exchange is a hold first (the customer's row, the new show's shared lock, the new
seats), then the old booking (its seat rows, then its row: ``locks.lock_booking``), decided on
as it is under that lock: a cancel of it, another exchange of it (which queues on the
customer's row first) or a payment completing a pending exchange of it come wholly before or
wholly after. A payment completing a pending exchange (``record_payment``) takes the new
booking's locks as any payment does, then the old booking's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.core.errors import Conflict
from boxoffice.schedule.models import Showtime

from .. import locks, rules
from ..models import Booking, BookingStatus
from .confirming import complete_exchange
from .holds import SeatsTaken, create_hold

S = BookingStatus


def exchange_booking(
    *,
    booking: Booking,
    by: User,
    showtime: Showtime,
    seat_ids: Sequence[int],
    accessible: bool = False,
    now: datetime | None = None,
) -> Booking:
    """Exchange ``booking`` (confirmed) for ``seat_ids`` of ``showtime``, all or nothing: the
    answer is the new booking, ``exchange_of`` the old one and ``credit`` its value.

    The seats are held as any hold (seat rules, the per-customer cap: the old seats are sold,
    not held, so they never count against it). When the new total is at most the credit the
    exchange completes at once (:func:`complete_exchange`); otherwise the new booking is
    pending with ``amount_due = total - credit``, paid through the pay step, and the exchange
    completes when that payment is recorded. The old booking stays the customer's until then;
    a new booking whose hold lapses changes nothing for it.

    409: ``not_confirmed``, ``currency_mismatch``, ``cutoff``, ``checked_in``
    (:func:`boxoffice.booking.rules.exchange_refusal`), ``seats_taken`` (a seat is held or
    sold, the old booking's own seats included until the exchange completes), and the hold's
    seat rules and cap."""
    now = now or timezone.now()
    # The friendly checks first, on the rows as read; decided again under the locks below.
    refusal = rules.exchange_refusal(
        booking, by=by, now=now, currency=showtime.currency, used_seats=()
    )
    if refusal is not None:
        raise refusal

    def decide(new: Booking) -> None:
        old = locks.lock_booking(booking.pk)
        refusal = rules.exchange_refusal(
            old,
            by=by,
            now=now,
            currency=showtime.currency,
            used_seats=rules.used_seat_labels(old),
        )
        if refusal is not None:
            raise refusal
        credit = rules.live_total(old)
        Booking.objects.filter(pk=new.pk).update(exchange_of=old, credit=credit)
        new.exchange_of = old
        new.credit = credit
        if new.total <= credit:
            complete_exchange(old=old, new=new, now=now)

    try:
        return create_hold(
            user=booking.user,
            showtime=showtime,
            seat_ids=seat_ids,
            accessible=accessible,
            within=decide,
        )
    except SeatsTaken as exc:
        raise Conflict(
            f"Seats no longer available: {', '.join(exc.labels)}.", code="seats_taken"
        ) from exc

"""Paying: whether a booking can be paid (:func:`check_payable`), the payment opened for it
(:func:`attach_payment`), the one place that records money (:func:`record_payment`,
:func:`record_refund`), and the tickets a confirmed booking gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from boxoffice.core.errors import Conflict
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from .. import locks, seatmap_cache, selectors, signals, states
from ..models import Booking, BookingSeat, BookingStatus
from .cancellation import _cancel
from .confirming import complete_exchange, exchange_still_valid, issue_tickets
from .seats import release_lapsed

S = BookingStatus


def _refuse_unpayable(booking: Booking, show: locks.Show, now: datetime) -> None:
    refusal = selectors.payment_refusal(booking, show_status=show.status, now=now)
    if refusal is not None:
        raise refusal


def check_payable(*, booking: Booking) -> None:
    """Raise Conflict (409) unless the booking can be paid now: pending, its hold running, its
    show still on. The payment layer asks before opening a payment."""
    show = Showtime.objects.values("status", "starts_at").get(pk=booking.showtime_id)
    _refuse_unpayable(booking, locks.Show(**show), timezone.now())


def attach_payment(
    *, booking: Booking, intent_id: str, client_secret: str, amount: Decimal | None = None
) -> None:
    """Store the payment opened for ``booking`` (its id and the secret its owner pays with).
    Decided on the locked row: refused with 409 when the hold lapsed or the booking moved on
    meanwhile (the caller then closes the payment), when another payment is already attached,
    and when the payment was opened for ``amount`` but the booking's amount due is another now
    (``total_changed``: some seats were released between the caller's read and this lock; a
    payment for the old total would be money no booking could record). Storing the same one
    again is a no-op."""
    now = timezone.now()
    with locks.atomic():
        show = locks.share_lock_show(booking.showtime_id)
        locked = locks.lock_booking(booking.pk)
        if locked.payment_intent_id == intent_id and locked.payment_client_secret:
            return
        _refuse_unpayable(locked, show, now)
        if amount is not None and locked.amount_due != amount:
            raise Conflict(
                f"This booking's amount due is now {locked.amount_due} "
                f"{locked.currency.upper()}; please pay again.",
                code="total_changed",
            )
        if locked.payment_intent_id not in ("", intent_id):
            raise Conflict(
                "Another payment is already open for this booking.", code="payment_conflict"
            )
        Booking.objects.filter(pk=booking.pk).update(
            payment_intent_id=intent_id, payment_client_secret=client_secret
        )
    booking.payment_intent_id = intent_id
    booking.payment_client_secret = client_secret


class PaymentOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_RECORDED = "already_recorded"
    REFUND_DUE = "refunding"


@dataclass(frozen=True)
class PaymentResult:
    outcome: PaymentOutcome
    reason: str = ""  # why money is owed back (REFUND_DUE): paid_after_cancel, seats_lost, ...


def record_payment(
    *, booking: Booking, amount: Decimal, intent_id: str = "", now: datetime | None = None
) -> PaymentResult:
    """The payment provider says ``amount`` was paid for ``booking``: make the seats the
    customer's for good, or, when that can no longer be, record the money and owe it back.

    Decided on the locked rows:
    - confirmed already: nothing changes (a replayed or repeated event);
    - money already recorded on a booking that is not confirmed: nothing more (its refund is
      already owed);
    - cancelled (by its customer, an admin, or with its show): the money is recorded and owed
      back (``paid_after_cancel``);
    - pending or expired, its show cancelled or started: cancelled, money owed back
      (``show_cancelled``, ``show_started``);
    - pending or expired, its seats still free (a lapsed hold's seats are claimed again; the
      unique index refuses the claim when another buyer took one): confirmed, tickets issued,
      receipt queued (``booking_confirmed``);
    - otherwise its seats are lost: cancelled, money owed back (``seats_lost``);
    - an exchange's new booking whose old booking can no longer be exchanged (cancelled,
      exchanged or cut down meanwhile): cancelled, money owed back (``exchange_void``); else
      confirming it completes the exchange (:func:`.confirming.complete_exchange`).
    Money owed back is announced with ``refund_due`` in the same transaction (the payment layer
    refunds through its worker). ``intent_id`` is stored when the booking has none yet.
    """
    now = now or timezone.now()
    # The booking's seats, less those released on their own (a partial cancellation).
    seat_ids = list(
        booking.seats.filter(cancelled_at__isnull=True).values_list("seat_id", flat=True)
    )
    with locks.atomic():
        show = locks.share_lock_show(booking.showtime_id)
        # Our rows and every live row on our seats (and, for an exchange, the old booking's
        # rows: its ``exchange_of`` never changes), in the global order, then the bookings in
        # id order (the old one was made first).
        rows = Q(showtime_id=booking.showtime_id, seat_id__in=seat_ids) & (
            Q(booking_id=booking.pk) | Q(is_live=True)
        )
        if booking.exchange_of_id:
            rows |= Q(booking_id=booking.exchange_of_id)
        locks.lock_seat_rows(rows)
        old = locks.lock_booking_row(booking.exchange_of_id) if booking.exchange_of_id else None
        locked = locks.lock_booking_row(booking.pk)
        if intent_id and not locked.payment_intent_id:
            Booking.objects.filter(pk=locked.pk).update(payment_intent_id=intent_id)
        if locked.status == S.CONFIRMED:
            return PaymentResult(PaymentOutcome.ALREADY_CONFIRMED)
        if locked.paid_amount > 0:
            return PaymentResult(PaymentOutcome.ALREADY_RECORDED)
        if locked.status == S.CANCELLED:
            Booking.objects.filter(pk=locked.pk).update(paid_amount=amount)
            locked.paid_amount = amount
            signals.refund_due.send(sender=Booking, booking=locked)
            return PaymentResult(PaymentOutcome.REFUND_DUE, "paid_after_cancel")
        reason = ""
        if show.status != ShowtimeStatus.SCHEDULED:
            reason = "show_cancelled"
        elif show.starts_at <= now:
            reason = "show_started"
        else:
            try:
                with transaction.atomic():
                    release_lapsed(showtime_id=booking.showtime_id, seat_ids=seat_ids, now=now)
                    # Our own lapsed rows were just released too; claim every seat back.
                    BookingSeat.objects.filter(booking=locked, cancelled_at__isnull=True).update(
                        is_live=True, hold_expires_at=None
                    )
            except IntegrityError:
                reason = "seats_lost"
        if not reason and old is not None and not exchange_still_valid(old, locked):
            # The old booking was cancelled, exchanged or cut down meanwhile: its credit is
            # gone, so this exchange cannot complete; the payment is owed back.
            reason = "exchange_void"
        if reason:
            _cancel(locked, reason=reason, now=now, paid_amount=amount)
            return PaymentResult(PaymentOutcome.REFUND_DUE, reason)
        states.transition(locked, S.CONFIRMED, confirmed_at=now, paid_amount=amount)
        issue_tickets(locked, now=now)
        seatmap_cache.seats_changed(locked.showtime_id, seat_ids)
        signals.booking_confirmed.send(sender=Booking, booking=locked)
        if old is not None:
            complete_exchange(old=old, new=locked, now=now)
    booking.refresh_from_db()
    return PaymentResult(PaymentOutcome.CONFIRMED)


def record_refund(*, booking: Booking, amount: Decimal) -> None:
    """Add a refund that the payment provider has confirmed. The database refuses a total
    refund above what was paid (booking_refund_not_above_paid)."""
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=F("refunded_amount") + amount)
    booking.refresh_from_db(fields=["refunded_amount"])

"""Payment flows: checkout, webhook events, late payments, refunds and reconciliation.

Stripe calls (network) never run inside a transaction that holds seats: the hold commits first,
then the PaymentIntent is created; a webhook re-fetches the PaymentIntent first, then confirms in
one short transaction. Every booking status change goes through the booking state machine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import stripe
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.core.errors import PaymentRefused, ServiceUnavailable
from boxoffice.core.money import from_minor_units, to_minor_units
from boxoffice.schedule.models import Showtime

from . import gateway
from .models import Refund, StripeEvent

log = logging.getLogger(__name__)
S = BookingStatus


# --- checkout ----------------------------------------------------------------------------------


def checkout(*, user: User, showtime: Showtime, seat_ids: Sequence[int]) -> Booking:
    """Hold the seats, then open a PaymentIntent for the frozen total. If the intent cannot be
    opened, for whatever reason, the hold is released at once: never a hold that cannot be
    paid. Stripe unreachable is a 503 (retry); Stripe refusing the request is a 502. A booking
    whose total is zero (a free show) needs no payment and is confirmed at once."""
    booking = booking_services.create_hold(user=user, showtime=showtime, seat_ids=seat_ids)
    if booking.total == 0:
        booking_services.confirm_booking(booking=booking, paid_amount=booking.total)
        return booking
    try:
        attach_payment_intent(booking)
    except gateway.GatewayUnavailable as exc:
        booking_services.release_unpayable_hold(booking=booking)
        raise ServiceUnavailable(
            "Payments are unavailable right now, so no seats were held; please try again shortly.",
            code="payments_unavailable",
        ) from exc
    except stripe.StripeError as exc:
        booking_services.release_unpayable_hold(booking=booking)
        log.error("stripe refused a payment for booking %s: %s", booking.pk, exc)
        raise PaymentRefused() from exc
    except BaseException:
        booking_services.release_unpayable_hold(booking=booking)
        raise
    return booking


def attach_payment_intent(booking: Booking) -> None:
    intent = gateway.create_payment_intent(
        booking_id=booking.pk,
        amount_minor=to_minor_units(booking.total, booking.currency),
        currency=booking.currency,
    )
    # Conditional: a webhook that arrived first may have stored the same id already.
    Booking.objects.filter(pk=booking.pk).filter(
        Q(payment_intent_id="") | Q(payment_intent_id=intent.id)
    ).update(payment_intent_id=intent.id, payment_client_secret=intent.client_secret)
    booking.payment_intent_id = intent.id
    booking.payment_client_secret = intent.client_secret


# --- webhook events ----------------------------------------------------------------------------

HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"}


def record_event(event: dict) -> StripeEvent | None:
    """Insert the event into the ledger; None when it was already there (a replay)."""
    obj = (event.get("data") or {}).get("object") or {}
    intent_id = obj.get("id", "") if obj.get("object") == "payment_intent" else ""
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                event_id=event["id"], type=event["type"], payment_intent_id=intent_id
            )
    except IntegrityError:
        return None


def handle_event(event: dict) -> str:
    """Act on one verified event; returns the outcome recorded in the ledger."""
    ledger = record_event(event)
    if ledger is None:
        return "duplicate"
    outcome = "ignored"
    try:
        if event["type"] == "payment_intent.succeeded":
            outcome = settle_payment_intent(ledger.payment_intent_id)
        elif event["type"] in HANDLED:
            # The booking stays pending until its hold lapses: the customer may pay again.
            outcome = "recorded"
    except Exception:
        # Forget the event so Stripe's retry (or reconciliation) can settle it later; a row
        # left behind would turn that retry into a "duplicate" and the event would be lost.
        StripeEvent.objects.filter(pk=ledger.pk).delete()
        raise
    StripeEvent.objects.filter(pk=ledger.pk).update(outcome=outcome)
    return outcome


def settle_payment_intent(intent_id: str) -> str:
    """Bring our booking in line with a PaymentIntent, as Stripe reports it now.

    The event is only a trigger: the intent is fetched again, and amount, currency and booking
    must match what we asked for. Then the booking is confirmed (tickets and receipt follow in
    the same transaction), or, when its seats were lost after the hold lapsed or it was already
    cancelled, the payment is recorded and refunded in full.
    """
    if not intent_id:
        return "mismatch:intent"
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
    except stripe.InvalidRequestError:
        # Stripe does not know this intent (another account's, a deleted test object): no
        # retry can change that, so it is logged and refused rather than answered with a 500.
        log.error("payment %s is unknown to Stripe", intent_id)
        return "mismatch:unknown_intent"
    if intent.status != "succeeded":
        return f"not_succeeded:{intent.status}"
    booking = (
        Booking.objects.filter(pk=_int(intent.booking_id)).first() if intent.booking_id else None
    )
    if booking is None:
        log.error("payment %s names no booking of ours (metadata %r)", intent.id, intent.booking_id)
        return "mismatch:booking"
    if booking.payment_intent_id not in ("", intent.id):
        log.error("payment %s does not match booking %s's intent", intent.id, booking.pk)
        return "mismatch:intent"
    if intent.currency != booking.currency or intent.amount != to_minor_units(
        booking.total, booking.currency
    ):
        log.error(
            "payment %s amount %s %s does not match booking %s total %s %s",
            intent.id,
            intent.amount,
            intent.currency,
            booking.pk,
            booking.total,
            booking.currency,
        )
        return "mismatch:amount"
    if not booking.payment_intent_id:
        # The webhook beat the checkout request in storing the id: keep it.
        Booking.objects.filter(pk=booking.pk, payment_intent_id="").update(
            payment_intent_id=intent.id
        )
    paid = from_minor_units(intent.amount, intent.currency)

    outcome = booking_services.confirm_booking(booking=booking, paid_amount=paid)
    if outcome in (
        booking_services.ConfirmOutcome.CONFIRMED,
        booking_services.ConfirmOutcome.ALREADY_CONFIRMED,
    ):
        return str(outcome)
    # Paid, but no seats to give: record the money and refund it.
    if booking_services.cancel_unfulfillable(booking=booking, paid_amount=paid):
        return "refunding:seats_lost"
    booking.refresh_from_db()
    if booking.status == S.CANCELLED and booking.paid_amount == 0:
        with transaction.atomic():
            Booking.objects.filter(pk=booking.pk, paid_amount=0).update(paid_amount=paid)
            from .tasks import refund_booking_task

            refund_booking_task.enqueue(booking_id=booking.pk, reason="paid_after_cancel")
        return "refunding:paid_after_cancel"
    return f"unchanged:{booking.status}"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def close_unpaid_intent(booking: Booking) -> None:
    """After an unpaid booking is cancelled, cancel its PaymentIntent, so the customer's client
    cannot still pay for seats they gave up. Best effort: if Stripe is unreachable, or the
    payment slipped through first, the late payment is refunded when its event arrives."""
    if not booking.payment_intent_id:
        return
    try:
        gateway.cancel_payment_intent(booking.payment_intent_id)
    except (gateway.GatewayUnavailable, stripe.StripeError) as exc:
        log.warning("could not cancel the intent of booking %s: %s", booking.pk, type(exc).__name__)


# --- refunds -----------------------------------------------------------------------------------


def refund_booking(*, booking_id: int, reason: str) -> Decimal:
    """Refund whatever of the booking's payment is not refunded yet; returns the amount
    refunded now (0 when nothing was owed). Safe to call again, from any process: the Refund row
    (one per booking and reason) and Stripe's idempotency key keep it to one refund."""
    booking = Booking.objects.get(pk=booking_id)
    owed = booking.paid_amount - booking.refunded_amount
    if owed <= 0 or not booking.payment_intent_id:
        return Decimal("0.00")
    refund, _ = Refund.objects.get_or_create(
        booking=booking, reason=reason, defaults={"amount": owed, "currency": booking.currency}
    )
    if refund.status == Refund.Status.SUCCEEDED:
        return Decimal("0.00")
    Refund.objects.filter(pk=refund.pk).update(attempts=refund.attempts + 1)
    try:
        refund_id = gateway.create_refund(
            booking_id=booking.pk,
            intent_id=booking.payment_intent_id,
            amount_minor=to_minor_units(refund.amount, refund.currency),
            reason=reason,
        )
    except (gateway.GatewayUnavailable, stripe.StripeError) as exc:
        Refund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:2000])
        raise
    with transaction.atomic():
        done = Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.SUCCEEDED, stripe_refund_id=refund_id, succeeded_at=timezone.now()
        )
        if done:
            booking_services.record_refund(booking=booking, amount=refund.amount)
    return refund.amount if done else Decimal("0.00")


# --- reconciliation ----------------------------------------------------------------------------


def reconcile(*, max_age_days: int = 3) -> dict[str, int]:
    """Settle bookings whose PaymentIntent succeeded but whose webhook we never got, among
    those created in the last ``max_age_days``: pending or expired ones (to confirm, or refund
    when their seats are gone), and unpaid cancelled ones (a payment that slipped past the
    cancellation is refunded)."""
    since = timezone.now() - timedelta(days=max_age_days)
    candidates = (
        Booking.objects.filter(created_at__gte=since)
        .filter(Q(status__in=[S.PENDING, S.EXPIRED]) | Q(status=S.CANCELLED, paid_amount=0))
        .exclude(payment_intent_id="")
        .exclude(cancel_reason="payment_unavailable")  # no intent was ever payable
    )
    outcomes: dict[str, int] = {}
    for intent_id in candidates.values_list("payment_intent_id", flat=True).iterator():
        try:
            outcome = settle_payment_intent(intent_id)
        except gateway.GatewayUnavailable:
            outcome = "gateway_unavailable"
        key = outcome.split(":")[0]
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes

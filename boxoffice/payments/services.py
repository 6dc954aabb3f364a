"""Payment flows: the pay step, webhook events, refunds and reconciliation.

Stripe calls (network) never run inside a database transaction: the pay step opens the
PaymentIntent first and then stores it; a webhook re-fetches the PaymentIntent first and then
hands the money to the booking app. Payments never write a Booking's fields itself: the booking
services (``attach_payment``, ``record_payment``, ``record_refund``) decide on the locked row.

This module imports no task: what must happen later (refunds, closing unpaid intents) is queued
by :mod:`.receivers` when the booking app announces it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from boxoffice.booking import locks as booking_locks
from boxoffice.booking import rules as booking_rules
from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.core.errors import Conflict, PaymentRefused, Unavailable
from boxoffice.core.money import from_minor_units, to_minor_units

from . import gateway
from .models import Refund, StripeEvent

log = logging.getLogger(__name__)
S = BookingStatus


# --- the pay step ------------------------------------------------------------------------------


class PaymentsUnavailable(Unavailable):
    """503: Stripe could not be reached; the client may retry after ``retry_after`` seconds."""

    default_detail = "Payments are unavailable right now; please try again shortly."
    default_code = "payments_unavailable"
    retry_after = 5  # seconds, sent as Retry-After


@dataclass(frozen=True)
class PaymentStart:
    provider: str
    client_secret: str
    publishable_key: str


def start_payment(*, booking: Booking) -> PaymentStart:
    """Open the PaymentIntent for the booking's amount due (its frozen total, less an
    exchange's credit), or return the one already open.

    Idempotent: Stripe's idempotency key is derived from the booking, so two concurrent calls
    get the same intent, and storing it twice is a no-op. Refused with 409 while the booking
    cannot be paid (hold lapsed, not pending, show cancelled); when the hold lapses between
    opening the intent and storing it, the intent is cancelled again (best effort: a payment
    that still lands is refunded by the late-payment rules). Stripe unreachable is a 503,
    Stripe refusing the request a 502; the hold is kept either way, so the customer can retry.
    """
    if not booking.payment_client_secret:
        booking_services.check_payable(booking=booking)
        try:
            intent = gateway.create_payment_intent(
                booking_id=booking.pk,
                amount_minor=to_minor_units(booking.amount_due, booking.currency),
                currency=booking.currency,
            )
        except gateway.GatewayUnavailable as exc:
            raise PaymentsUnavailable(
                "Payments are unavailable right now; your seats stay held, please try again "
                "shortly."
            ) from exc
        except stripe.StripeError as exc:
            log.error("stripe refused a payment for booking %s: %s", booking.pk, exc)
            raise PaymentRefused() from exc
        try:
            booking_services.attach_payment(
                booking=booking,
                intent_id=intent.id,
                client_secret=intent.client_secret or "",
                amount=booking.amount_due,
            )
        except Conflict:
            close_intent(intent.id, booking_id=booking.pk)
            raise
    else:
        booking_services.check_payable(booking=booking)
    return PaymentStart(
        provider="stripe",
        client_secret=booking.payment_client_secret,
        publishable_key=settings.STRIPE_PUBLISHABLE_KEY,
    )


def close_intent(intent_id: str, *, booking_id: int) -> bool:
    """Cancel an unpaid PaymentIntent so it can no longer be paid. Best effort: if Stripe is
    unreachable, or the payment slipped through first, the late payment is refunded when its
    event (or reconciliation) arrives. Returns whether Stripe confirmed the cancellation."""
    try:
        gateway.cancel_payment_intent(intent_id)
    except (gateway.GatewayUnavailable, stripe.StripeError) as exc:
        log.warning("could not cancel the intent of booking %s: %s", booking_id, type(exc).__name__)
        return False
    return True


def close_unpaid_intents(*, booking_ids: list[int]) -> int:
    """Close the PaymentIntents of bookings whose hold ended unpaid."""
    closed = 0
    for booking_id, intent_id in (
        Booking.objects.filter(pk__in=booking_ids)
        .unpaid_with_payment_open()
        .values_list("pk", "payment_intent_id")
    ):
        closed += close_intent(intent_id, booking_id=booking_id)
    return closed


# --- webhook events ----------------------------------------------------------------------------

HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"}


def record_event(event: dict[str, Any]) -> StripeEvent | None:
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


@dataclass(frozen=True)
class Settlement:
    """What a webhook event or a reconciliation did: ``outcome`` (confirmed, refunding,
    mismatch, ...) and, for some, a ``reason`` (refunding: seats_lost; mismatch: amount). The
    ledger stores them in two fields."""

    outcome: str
    reason: str = ""

    @property
    def label(self) -> str:
        """The webhook's answer, unchanged since it was one text: "refunding:seats_lost".
        Written for the reader of the answer only; nothing parses it back."""
        return f"{self.outcome}:{self.reason}" if self.reason else self.outcome


def handle_event(event: dict[str, Any]) -> Settlement:
    """Act on one verified event; returns the outcome recorded in the ledger."""
    ledger = record_event(event)
    if ledger is None:
        return Settlement("duplicate")
    result = Settlement("ignored")
    try:
        if event["type"] == "payment_intent.succeeded":
            result = settle_payment_intent(ledger.payment_intent_id)
        elif event["type"] in HANDLED:
            # The booking stays pending until its hold lapses: the customer may pay again.
            result = Settlement("recorded")
    except Exception:
        # Forget the event so Stripe's retry (or reconciliation) can settle it later; a row
        # left behind would turn that retry into a "duplicate" and the event would be lost.
        StripeEvent.objects.filter(pk=ledger.pk).delete()
        raise
    StripeEvent.objects.filter(pk=ledger.pk).update(outcome=result.outcome, reason=result.reason)
    return result


def settle_payment_intent(intent_id: str) -> Settlement:
    """Bring our booking in line with a PaymentIntent, as Stripe reports it now.

    The event is only a trigger: the intent is fetched again, and amount, currency and booking
    must match what we asked for. Then the booking app records the money
    (:func:`boxoffice.booking.services.record_payment`): it confirms the booking, or cancels it
    and owes the money back (its show cancelled or started, its seats lost, or it was already
    cancelled), and the refund follows through the worker.
    """
    if not intent_id:
        return Settlement("mismatch", "intent")
    try:
        intent = gateway.retrieve_payment_intent(intent_id)
    except stripe.InvalidRequestError:
        # Stripe does not know this intent (another account's, a deleted test object): no
        # retry can change that, so it is logged and refused rather than answered with a 500.
        log.error("payment %s is unknown to Stripe", intent_id)
        return Settlement("mismatch", "unknown_intent")
    if intent.status != "succeeded":
        return Settlement("not_succeeded", intent.status)
    booking_id = _int(intent.booking_id)
    booking = Booking.objects.filter(pk=booking_id).first() if booking_id is not None else None
    if booking is None:
        log.error("payment %s names no booking of ours (metadata %r)", intent.id, intent.booking_id)
        return Settlement("mismatch", "booking")
    if booking.payment_intent_id not in ("", intent.id):
        log.error("payment %s does not match booking %s's intent", intent.id, booking.pk)
        return Settlement("mismatch", "intent")
    # What the intent was opened for: the booking's amount due (its total less an exchange's
    # credit), or what was recorded as paid once the money is in (a confirmed booking's total
    # shrinks when some seats are cancelled).
    expected = booking.paid_amount if booking.paid_amount > 0 else booking.amount_due
    if intent.currency != booking.currency or intent.amount != to_minor_units(
        expected, booking.currency
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
        return Settlement("mismatch", "amount")
    paid = from_minor_units(intent.amount, intent.currency)
    result = booking_services.record_payment(booking=booking, amount=paid, intent_id=intent.id)
    return Settlement(result.outcome, result.reason)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# --- refunds -----------------------------------------------------------------------------------


def refund_booking(*, booking_id: int, reason: str, amount: Decimal | None = None) -> Decimal:
    """Refund what the booking is owed back (:func:`boxoffice.booking.rules.refund_owed`), at
    most ``amount`` (a partial cancellation's seats, an exchange's surplus); returns the amount
    refunded now (0 when nothing was owed). Safe to call again, from any process: the Refund
    rows (one per booking and reason) and Stripe's idempotency key keep it to one refund per
    reason.

    The rows are decided once, on the locked rows of the booking and of the bookings it was
    exchanged from: what is owed less what the booking's other refunds still in flight will
    pay back, taken from :func:`refund_sources` (its own payment first, then an exchange's
    old payment): two refunds of one booking, or a refund and reconciliation, never refund the
    same money twice, and a payment is never refunded beyond what it captured."""
    family = Q(reason=reason) | Q(reason__startswith=f"{reason}@")
    with booking_locks.atomic():
        chain = _lock_chain(booking_id)
        booking = chain[0]
        if not Refund.objects.filter(family, booking=booking).exists():
            in_flight = Refund.objects.filter(
                booking=booking, status=Refund.Status.PENDING
            ).aggregate(t=Sum("amount"))["t"] or Decimal("0.00")
            owed = booking_rules.refund_owed(booking) - in_flight
            if amount is not None:
                owed = min(owed, amount)
            for intent_id, available in refund_sources(chain):
                take = min(owed, available)
                if take <= 0:
                    continue
                first = not Refund.objects.filter(family, booking=booking).exists()
                Refund.objects.create(
                    booking=booking,
                    reason=reason if first else f"{reason}@{intent_id[-12:]}",
                    amount=take,
                    currency=booking.currency,
                    payment_intent_id=intent_id,
                )
                owed -= take
        pending = list(
            Refund.objects.filter(family, booking=booking, status=Refund.Status.PENDING).order_by(
                "pk"
            )
        )
    refunded = Decimal("0.00")
    for refund in pending:
        Refund.objects.filter(pk=refund.pk).update(attempts=F("attempts") + 1)
        try:
            refund_id = gateway.create_refund(
                booking_id=booking.pk,
                intent_id=refund.payment_intent_id,
                amount_minor=to_minor_units(refund.amount, refund.currency),
                reason=refund.reason,
            )
        except (gateway.GatewayUnavailable, stripe.StripeError) as exc:
            Refund.objects.filter(pk=refund.pk).update(last_error=str(exc)[:2000])
            raise
        with transaction.atomic():
            done = Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.SUCCEEDED,
                stripe_refund_id=refund_id,
                succeeded_at=timezone.now(),
            )
            if done:
                booking_services.record_refund(booking=booking, amount=refund.amount)
                refunded += refund.amount
    return refunded


MAX_CHAIN = 100  # exchanges of exchanges followed back, at most


def _lock_chain(booking_id: int) -> list[Booking]:
    """The booking and the bookings it was exchanged from (newest first), their rows locked
    in id order (the global order of booking rows; the older is always the smaller id)."""
    ids = [booking_id]
    while len(ids) < MAX_CHAIN:
        previous = Booking.objects.filter(pk=ids[-1]).values_list("exchange_of_id", flat=True)[0]
        if previous is None:
            break
        ids.append(previous)
    locked = {pk: booking_locks.lock_booking_row(pk) for pk in sorted(ids)}
    return [locked[pk] for pk in ids]


def refund_sources(chain: list[Booking]) -> list[tuple[str, Decimal]]:
    """The payments a refund of ``chain[0]`` is taken from, in order, with what each can still
    give back: the booking's own payment, then those of the bookings it was exchanged from
    (its credit is money they captured). What a payment can give is what it captured less
    every refund made or under way against it, whichever booking asked."""
    sources = []
    for booking in chain:
        if not booking.payment_intent_id or booking.paid_amount <= 0:
            continue
        used = Refund.objects.filter(payment_intent_id=booking.payment_intent_id).aggregate(
            t=Sum("amount")
        )["t"] or Decimal("0.00")
        sources.append((booking.payment_intent_id, booking.paid_amount - used))
    return sources


def refund_reason(booking: Booking) -> str:
    return booking.cancel_reason or "refund"


# --- reconciliation ----------------------------------------------------------------------------


def reconcile(*, max_age_days: int = 3) -> dict[str, int]:
    """Repair what lost webhooks and interrupted work left behind, so that every booking ends
    confirmed with nothing refunded, or not confirmed with everything refunded:

    - bookings with a PaymentIntent that are not settled (pending, expired, or cancelled with
      nothing recorded as paid), created in the last ``max_age_days``: Stripe is asked how the
      payment stands and the money is recorded (a payment that slipped past a cancellation or
      a lapsed hold is then owed back);
    - every booking, whatever its age or cause, that is not confirmed and has less refunded
      than paid: refunded now (a refund task that gave up, a crash between a cancellation and
      its refund, ...).

    A confirmed booking with something refunded is logged as an error for a person to look at:
    no automatic action can tell which of the two was meant."""
    since = timezone.now() - timedelta(days=max_age_days)
    candidates = Booking.objects.filter(created_at__gte=since).payment_unsettled()
    outcomes: dict[str, int] = {}

    def count(outcome: str) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    for intent_id in candidates.values_list("payment_intent_id", flat=True).iterator():
        try:
            count(settle_payment_intent(intent_id).outcome)
        except gateway.GatewayUnavailable:
            count("gateway_unavailable")
    for booking in Booking.objects.breaking_money_invariant().iterator():
        live: Decimal = booking.live_total  # type: ignore[attr-defined]  # the annotation
        if booking_rules.refund_owed(booking, live=live) <= 0:
            log.error(
                "booking %s (%s) has %s refunded of %s paid (credit %s) for seats worth %s: "
                "needs a person",
                booking.pk,
                booking.status,
                booking.refunded_amount,
                booking.paid_amount,
                booking.credit,
                live,
            )
            count("needs_attention")
            continue
        try:
            for reason in reconcile_reasons(booking):
                refund_booking(booking_id=booking.pk, reason=reason)
            count("refunded")
        except (gateway.GatewayUnavailable, stripe.StripeError):
            count("refund_failed")
    return outcomes


def reconcile_reasons(booking: Booking) -> list[str]:
    """The refunds reconciliation makes for a booking owed money: its refunds still pending
    (each retried under its own reason, so Stripe's idempotency key makes it once), then one for
    whatever is owed beyond them: the cancellation's reason for a booking that is not confirmed
    (the same the refund task uses), ``balance-<refunded so far, minor units>`` for a confirmed
    one (the same for every reconciliation that sees the booking in that state)."""
    reasons = list(
        Refund.objects.filter(booking=booking, status=Refund.Status.PENDING)
        .order_by("pk")
        .values_list("reason", flat=True)
    )
    if booking.status == S.CONFIRMED:
        minor = to_minor_units(booking.refunded_amount, booking.currency)
        last = f"balance-{minor}"
    else:
        last = refund_reason(booking)
    return [*reasons, last] if last not in reasons else reasons

"""Payment work done by the background worker."""

from __future__ import annotations

import logging
from decimal import Decimal

import stripe
from django.db import DatabaseError
from django.tasks import task

from boxoffice.core.tasks import retry_later

from . import gateway, services
from .models import Refund

log = logging.getLogger(__name__)


@task()
def refund_booking_task(
    *, booking_id: int, reason: str, amount: str | None = None, attempt: int = 0
) -> str:
    """Refund what a cancellation owes back (``amount`` at most, a decimal string, when it
    cancelled some seats only); retried with backoff while Stripe is unavailable. A refund
    that gives up is retried by reconciliation (it repairs every unsettled booking)."""
    try:
        refunded = services.refund_booking(
            booking_id=booking_id,
            reason=reason,
            amount=None if amount is None else Decimal(amount),
        )
    except (gateway.GatewayUnavailable, stripe.StripeError, DatabaseError) as exc:
        # Stripe or our database unavailable for a moment: try again later (the Refund row and
        # Stripe's idempotency key keep a retry from refunding twice).
        log.warning("refund of booking %s failed (attempt %d): %s", booking_id, attempt + 1, exc)
        if not retry_later(
            refund_booking_task,
            attempt=attempt,
            booking_id=booking_id,
            reason=reason,
            amount=amount,
        ):
            # Shown in the admin site (Refunds: gave up); reconciliation still tries again.
            Refund.objects.record_give_up(booking_id=booking_id, reason=reason)
            return "gave up"
        return "retrying"
    return f"refunded {refunded}"


@task()
def close_unpaid_intents_task(*, booking_ids: list[int]) -> int:
    """Cancel the PaymentIntents of holds that ended unpaid (best effort, once)."""
    return services.close_unpaid_intents(booking_ids=booking_ids)


@task()
def reconcile_payments_task() -> dict[str, int]:
    return services.reconcile()


def enqueue_reconciliation() -> None:
    """Housekeeping: reconciliation talks to Stripe, so it runs as a task of its own."""
    reconcile_payments_task.enqueue()

"""Payments that arrive after the hold lapsed, and payments whose webhook never arrived."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from boxoffice.booking.models import Booking, BookingSeat, Ticket
from boxoffice.notifications.models import EmailNotification
from boxoffice.payments.models import Refund, StripeEvent
from tests.support.net import wait_for
from tests.support.tasks import run_worker

from .conftest import booking_status
from .helpers import expire_hold, hold, intent_of, localstripe_refunds, pay

pytestmark = pytest.mark.django_db(transaction=True)


def seat_statuses(client, showtime) -> dict[str, str]:  # type: ignore[no-untyped-def]
    seats = client.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    return {s["label"]: s["status"] for s in seats}


def test_late_payment_with_seats_still_free_confirms_with_tickets(
    customer_api, showtime, stripe_webhook, smtp_server
):
    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)
    expire_hold(booking["id"])
    assert customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()["status"] == "expired"
    assert seat_statuses(customer_api, showtime)["A1"] == "available"  # free at once

    assert pay(booking["id"]) == "succeeded"
    wait_for(lambda: booking_status(booking["id"]) == "confirmed")

    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "confirmed"
    assert detail["paid_amount"] == "30.00"
    assert detail["refunded_amount"] == "0.00"
    assert [t["seat"] for t in detail["tickets"]] == ["A1", "A2"]
    assert not BookingSeat.objects.filter(booking_id=booking["id"], is_live=False).exists()
    assert not BookingSeat.objects.filter(
        booking_id=booking["id"], hold_expires_at__isnull=False
    ).exists()
    statuses = seat_statuses(customer_api, showtime)
    assert (statuses["A1"], statuses["A2"]) == ("booked", "booked")
    assert not Refund.objects.exists()
    run_worker()
    assert len(inbox.messages) == 1
    assert "Metropolis" in inbox.messages[0]["Subject"]


def test_late_payment_with_a_seat_lost_is_cancelled_and_refunded_in_full(
    customer_api, showtime, stripe_webhook, localstripe, other_customer, smtp_server
):
    from tests.conftest import bearer

    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)  # A1, A2
    intent_id = intent_of(booking["id"])
    expire_hold(booking["id"])
    bob = bearer(other_customer)
    a2 = next(s["id"] for s in booking["seats"] if s["label"] == "A2")
    theirs = hold(bob, showtime, seat_ids=[a2])

    assert pay(booking["id"]) == "succeeded"
    wait_for(lambda: booking_status(booking["id"]) == "cancelled")

    row = Booking.objects.get(pk=booking["id"])
    assert row.paid_amount == row.total == Decimal("30.00")  # the money is on the books
    assert row.cancel_reason == "seats_lost"
    assert not Ticket.objects.filter(booking_seat__booking_id=booking["id"]).exists()
    wait_for(
        lambda: StripeEvent.objects.filter(
            payment_intent_id=intent_id, outcome="refunding", reason="seats_lost"
        ).exists()
    )

    run_worker()  # the refund task queued with the cancellation, and the email
    refunds = localstripe_refunds(localstripe, intent_id)
    assert [(r["amount"], r["status"]) for r in refunds] == [(3000, "succeeded")]
    row.refresh_from_db()
    assert row.refunded_amount == row.paid_amount
    refund = Refund.objects.get(booking_id=booking["id"])
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.stripe_refund_id == refunds[0]["id"]
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert (detail["status"], detail["paid_amount"], detail["refunded_amount"]) == (
        "cancelled",
        "30.00",
        "30.00",
    )

    # The other customer's hold is untouched; our other seat is free.
    assert booking_status(theirs["id"]) == "pending"
    assert BookingSeat.objects.get(booking_id=theirs["id"]).is_live
    statuses = seat_statuses(bob, showtime)
    assert (statuses["A1"], statuses["A2"]) == ("available", "held")

    # The customer is told, once.
    assert len(inbox.messages) == 1
    assert "cancelled" in inbox.messages[0]["Subject"]
    assert "refunded" in inbox.messages[0].get_payload(0).get_payload(decode=True).decode()
    run_worker()
    assert len(localstripe_refunds(localstripe, intent_id)) == 1
    assert len(inbox.messages) == 1


def test_lost_webhook_is_settled_by_reconciliation(customer_api, showtime, no_webhook, smtp_server):
    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)
    unpaid = hold(customer_api, showtime, n=1)
    assert pay(booking["id"]) == "succeeded"
    time.sleep(1.5)  # localstripe has tried its one delivery by now (to nowhere)
    assert booking_status(booking["id"]) == "pending"
    assert not StripeEvent.objects.exists()

    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "confirmed: 1" in out.getvalue()
    assert "not_succeeded: 1" in out.getvalue()
    assert booking_status(booking["id"]) == "confirmed"
    assert booking_status(unpaid["id"]) == "pending"  # nothing paid, nothing done
    assert Ticket.objects.filter(booking_seat__booking_id=booking["id"]).count() == 2
    receipt = EmailNotification.objects.get(booking_id=booking["id"])
    assert receipt.kind == "receipt"
    assert DBTaskResult.objects.filter(
        task_path__endswith="send_booking_email", status="READY"
    ).exists()

    run_worker()
    assert len(inbox.messages) == 1
    call_command("reconcile_payments", stdout=io.StringIO())  # the unpaid one only
    run_worker()
    assert len(inbox.messages) == 1
    assert Ticket.objects.filter(booking_seat__booking_id=booking["id"]).count() == 2


def test_reconciliation_settles_an_expired_booking_whose_seats_were_lost(
    customer_api, showtime, no_webhook, other_customer, localstripe
):
    from tests.conftest import bearer

    booking = hold(customer_api, showtime, n=1)
    intent_id = intent_of(booking["id"])
    expire_hold(booking["id"])
    hold(bearer(other_customer), showtime, seat_ids=[booking["seats"][0]["id"]])
    assert pay(booking["id"]) == "succeeded"

    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "refunding: 1" in out.getvalue()
    assert booking_status(booking["id"]) == "cancelled"
    run_worker()
    assert [r["amount"] for r in localstripe_refunds(localstripe, intent_id)] == [1500]
    row = Booking.objects.get(pk=booking["id"])
    assert row.paid_amount == row.refunded_amount == Decimal("15.00")


def test_reconciliation_carries_on_past_an_intent_stripe_does_not_know(
    customer_api, showtime, no_webhook
):
    stray = hold(customer_api, showtime, n=1)
    Booking.objects.filter(pk=stray["id"]).update(payment_intent_id="pi_deleted_long_ago")
    booking = hold(customer_api, showtime, n=1)
    assert pay(booking["id"]) == "succeeded"

    out = io.StringIO()
    call_command("reconcile_payments", stdout=out)
    assert "confirmed: 1" in out.getvalue()
    assert "mismatch: 1" in out.getvalue()
    assert booking_status(booking["id"]) == "confirmed"
    assert booking_status(stray["id"]) == "pending"


def test_reconciliation_refunds_a_payment_made_after_cancelling_whose_webhook_was_lost(
    customer_api, showtime, no_webhook, localstripe
):
    """The cancel endpoint closes the PaymentIntent, but a payment already in flight (or a
    moment when Stripe was unreachable) can still succeed; with its webhook lost too, only
    reconciliation sees it."""
    from boxoffice.booking.services import cancel_booking

    booking = hold(customer_api, showtime)
    row = Booking.objects.get(pk=booking["id"])
    cancel_booking(booking=row, by=row.user)  # intent left open
    assert pay(booking["id"]) == "succeeded"
    call_command("reconcile_payments", stdout=io.StringIO())
    row = Booking.objects.get(pk=booking["id"])
    assert (row.status, row.paid_amount) == ("cancelled", row.total)
    run_worker()
    row.refresh_from_db()
    assert row.refunded_amount == row.paid_amount

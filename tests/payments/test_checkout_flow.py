"""End to end through the real stripe client, localstripe, our webhook and a real SMTP server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boxoffice.booking.models import Booking, Ticket
from boxoffice.payments import gateway
from boxoffice.payments.models import StripeEvent
from tests.support.net import wait_for
from tests.support.tasks import run_worker

from .conftest import booking_status
from .helpers import hold, hold_only, localstripe_refunds

pytestmark = pytest.mark.django_db(transaction=True)


def test_pay_confirms_issues_tickets_and_mails_receipt_with_qr_codes(
    customer_api, showtime, stripe_webhook, smtp_server
):
    inbox, _ = smtp_server
    booking = hold(customer_api, showtime)
    assert booking["payment"]["provider"] == "stripe"
    assert booking["payment"]["client_secret"]
    intent = gateway.retrieve_payment_intent(
        Booking.objects.get(pk=booking["id"]).payment_intent_id
    )
    assert intent.amount == 2 * 1500  # two VIP seats at 15.00, in cents
    assert intent.booking_id == str(booking["id"])

    assert gateway.pay_with_test_card(intent_id=intent.id, card="4242424242424242") == "succeeded"
    wait_for(lambda: booking_status(booking["id"]) == "confirmed")

    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["status"] == "confirmed"
    assert detail["paid_amount"] == "30.00"
    assert detail["payment"] is None
    assert [t["seat"] for t in detail["tickets"]] == ["A1", "A2"]
    assert Ticket.objects.filter(booking_seat__booking_id=booking["id"]).count() == 2

    assert inbox.messages == []  # sent by the worker, not the request
    run_worker()
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert "Metropolis" in mail["Subject"]
    parts = {part.get_content_type(): part for part in mail.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    for expected in ("Odeon", "Screen 1", "A1", "A2", "15.00", "30.00"):
        assert expected in text
    for ticket in detail["tickets"]:
        assert ticket["code"] in text
    pngs = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(pngs) == 2
    assert all(p.get_payload(decode=True).startswith(b"\x89PNG") for p in pngs)
    assert "text/html" in parts

    run_worker()  # nothing more to send
    assert len(inbox.messages) == 1


def test_declined_card_keeps_booking_pending_and_payable(customer_api, showtime, stripe_webhook):
    booking = hold(customer_api, showtime)
    intent_id = Booking.objects.get(pk=booking["id"]).payment_intent_id
    assert gateway.pay_with_test_card(intent_id=intent_id, card="4000000000000341").startswith(
        "declined"
    )
    wait_for(lambda: StripeEvent.objects.filter(type="payment_intent.payment_failed").exists())
    assert booking_status(booking["id"]) == "pending"
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["payment"]["client_secret"]  # the client can still pay
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    assert [s["status"] for s in seats[:2]] == ["held", "held"]


def test_forged_signature_is_refused_and_changes_nothing(api, customer_api, showtime):
    booking = hold_only(customer_api, showtime)
    response = api.post(
        "/api/v1/payments/stripe/webhook/",
        data=b'{"id": "evt_forged", "type": "payment_intent.succeeded"}',
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=deadbeef",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_signature"
    missing = api.post(
        "/api/v1/payments/stripe/webhook/", data=b"{}", content_type="application/json"
    )
    assert missing.status_code == 400
    assert not StripeEvent.objects.exists()
    assert booking_status(booking["id"]) == "pending"


def test_cancel_confirmed_booking_refunds_through_stripe(
    customer_api, showtime, stripe_webhook, localstripe
):
    booking = hold(customer_api, showtime)
    intent_id = Booking.objects.get(pk=booking["id"]).payment_intent_id
    gateway.pay_with_test_card(intent_id=intent_id, card="4242424242424242")
    wait_for(lambda: booking_status(booking["id"]) == "confirmed")

    response = customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["paid_amount"] == "30.00"
    # The refund is queued in the cancel's transaction and made by the worker.
    assert localstripe_refunds(localstripe, intent_id) == []
    run_worker()
    detail = customer_api.get(f"/api/v1/bookings/{booking['id']}/").json()
    assert detail["refunded_amount"] == "30.00"
    # localstripe lists 10 objects a page, oldest first: page through them all.
    mine = localstripe_refunds(localstripe, intent_id)
    assert [r["amount"] for r in mine] == [3000]
    run_worker()  # nothing left to refund: a second run refunds nothing more
    assert Booking.objects.get(pk=booking["id"]).refunded_amount == Decimal("30.00")
    assert len(localstripe_refunds(localstripe, intent_id)) == 1


def test_a_free_show_is_confirmed_at_once_without_a_payment(customer_api, make_showtime):
    from decimal import Decimal as D

    free = make_showtime(base_price=D("0.00"))
    booking = hold(customer_api, free, n=1)
    assert booking["status"] == "confirmed"
    assert booking["payment"] is None
    assert booking["total"] == "0.00"
    assert len(booking["tickets"]) == 1
    assert Booking.objects.get(pk=booking["id"]).payment_intent_id == ""

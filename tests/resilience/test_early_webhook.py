"""A webhook that arrives before the booking has stored its PaymentIntent id.

The checkout opens the PaymentIntent and only then stores its id on the booking; a payment and
its signed ``payment_intent.succeeded`` event can land in between. Reproduced by opening the
intent through the gateway directly (the booking's ``payment_intent_id`` is still empty),
paying it in localstripe and delivering localstripe's own event, signed, to the webhook. Then
the checkout's own store step runs late, as it would, and must not undo anything."""

from __future__ import annotations

from decimal import Decimal

import pytest

from boxoffice.booking import services as booking_services
from boxoffice.booking.models import Booking, Ticket
from boxoffice.core.money import to_minor_units
from boxoffice.payments import gateway
from boxoffice.payments import services as payment_services
from boxoffice.payments.models import StripeEvent
from tests.payments.helpers import (
    GOOD_CARD,
    dumps,
    localstripe_event,
    localstripe_refunds,
    post_event,
)

pytestmark = [pytest.mark.resilience, pytest.mark.django_db(transaction=True)]


def test_webhook_before_the_intent_id_is_stored(
    api, customer, customer_api, showtime, localstripe, record
):  # type: ignore[no-untyped-def]
    record.update(
        scenario="Webhook before the booking stored its PaymentIntent id",
        how=(
            "hold, PaymentIntent opened via the gateway (id not stored), paid in localstripe, "
            "its signed payment_intent.succeeded posted to the webhook; then the checkout's "
            "attach_payment_intent runs late; the event delivered again"
        ),
    )
    seats = list(showtime.screen.seats.order_by("pk").values_list("pk", flat=True)[:2])
    booking = booking_services.create_hold(user=customer, showtime=showtime, seat_ids=seats)
    intent = gateway.create_payment_intent(
        booking_id=booking.pk,
        amount_minor=to_minor_units(booking.total, booking.currency),
        currency=booking.currency,
    )
    assert Booking.objects.get(pk=booking.pk).payment_intent_id == ""
    assert gateway.pay_with_test_card(intent_id=intent.id, card=GOOD_CARD) == "succeeded"

    event = dumps(localstripe_event(localstripe, intent.id, "payment_intent.succeeded"))
    response = post_event(api, event)
    assert response.status_code == 200, response.content

    stored = Booking.objects.get(pk=booking.pk)
    first = (stored.status, stored.payment_intent_id, stored.paid_amount)
    assert first == ("confirmed", intent.id, booking.total)
    assert Ticket.objects.filter(booking_seat__booking=booking).count() == 2

    # The checkout request, still running, now stores the id it got. localstripe ignores
    # idempotency keys, so it opens a second intent here (Stripe would return the same one):
    # the conditional update must keep the id the payment came through.
    payment_services.attach_payment_intent(booking)
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.payment_intent_id, stored.paid_amount) == first

    # Stripe delivering the event again changes nothing either.
    assert post_event(api, event).status_code == 200
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.payment_intent_id, stored.paid_amount) == first
    assert StripeEvent.objects.get().outcome == "confirmed"
    assert Ticket.objects.filter(booking_seat__booking=booking).count() == 2
    assert localstripe_refunds(localstripe, intent.id) == []
    shown = customer_api.get(f"/api/v1/bookings/{booking.pk}/").json()
    assert shown["status"] == "confirmed"
    assert len(shown["tickets"]) == 2
    assert Decimal(shown["refunded_amount"]) == 0
    record["figures"] = {
        "webhook_answer": response.status_code,
        "booking": "confirmed, payment_intent_id filled in by the webhook",
        "late_attach_changed_booking": False,
        "replayed_event": "duplicate, nothing changed",
        "bookings_lost": 0,
        "refunds": 0,
    }

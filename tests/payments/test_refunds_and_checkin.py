"""Cancelling paid bookings (the cut-off), and ticket check-in at the door."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from boxoffice.booking.models import Booking, Ticket
from boxoffice.payments.models import Refund
from boxoffice.schedule.models import Showtime
from tests.support.net import closed_url
from tests.support.tasks import run_worker

from .helpers import confirmed_booking, hold, hold_only, intent_of, localstripe_refunds

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("how", ["show-starts-soon", "long-cutoff-setting"])
def test_cancel_after_the_cutoff_is_refused_and_refunds_nothing(
    customer_api, showtime, localstripe, no_webhook, settings, how
):
    booking = confirmed_booking(customer_api, showtime)
    if how == "show-starts-soon":  # default cut-off: 60 minutes before the show
        starts = timezone.now() + timedelta(minutes=30)
        Showtime.objects.filter(pk=showtime.pk).update(
            starts_at=starts, ends_at=starts + timedelta(minutes=120)
        )
    else:
        settings.BOOKING_CANCEL_CUTOFF_MINUTES = 7 * 24 * 60

    response = customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert response.status_code == 409, response.content
    assert response.json()["errors"][0]["code"] == "cancellation_closed"

    run_worker()
    row = Booking.objects.get(pk=booking["id"])
    assert (row.status, row.paid_amount, row.refunded_amount) == (
        "confirmed",
        Decimal("30.00"),
        Decimal("0.00"),
    )
    assert not Refund.objects.exists()
    assert not DBTaskResult.objects.filter(task_path__endswith="refund_booking_task").exists()
    assert localstripe_refunds(localstripe, intent_of(booking["id"])) == []
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    assert [s["status"] for s in seats[:2]] == ["booked", "booked"]


def test_cancel_while_stripe_is_down_refunds_later_through_the_worker(
    customer_api, showtime, localstripe, no_webhook, settings
):
    booking = confirmed_booking(customer_api, showtime)
    intent_id = intent_of(booking["id"])
    settings.STRIPE_API_BASE = closed_url("")  # nothing listens there

    response = customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/")
    assert response.status_code == 200, response.content
    body = response.json()
    # Cancelled and seats freed at once; the money is owed, and the numbers say so.
    assert (body["status"], body["paid_amount"], body["refunded_amount"]) == (
        "cancelled",
        "30.00",
        "0.00",
    )
    run_worker()  # Stripe still down: the task records the failure and queues a retry
    refund = Refund.objects.get(booking_id=booking["id"])
    assert refund.status == Refund.Status.PENDING
    assert refund.attempts >= 1
    assert refund.last_error
    retry = DBTaskResult.objects.get(task_path__endswith="refund_booking_task", status="READY")
    assert retry.run_after > timezone.now()
    assert retry.args_kwargs["kwargs"]["attempt"] == 1

    settings.STRIPE_API_BASE = localstripe
    DBTaskResult.objects.filter(pk=retry.pk).update(run_after=timezone.now())  # time passes
    run_worker()
    assert [r["amount"] for r in localstripe_refunds(localstripe, intent_id)] == [3000]
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Booking.objects.get(pk=booking["id"]).refunded_amount == Decimal("30.00")


# --- check-in --------------------------------------------------------------------------------


def _alter(code: str, index: int) -> str:
    replacement = "B" if code[index] != "B" else "C"
    return code[:index] + replacement + code[index + 1 :]


def test_check_in_admits_a_ticket_once(customer_api, admin_api, make_showtime, no_webhook):
    # Doors open CHECKIN_OPENS_MINUTES (120) before the start: a show half an hour away is on.
    starts = (timezone.now() + timedelta(minutes=30)).replace(second=0, microsecond=0)
    showtime = make_showtime(starts_at=starts)
    booking = confirmed_booking(customer_api, showtime)
    first_ticket, second_ticket = booking["tickets"]

    response = admin_api.post("/api/v1/checkin/", {"code": first_ticket["code"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["seat"] == first_ticket["seat"] == "A1"
    assert body["code"] == first_ticket["code"]
    assert body["booking"] == booking["id"]
    assert body["showtime"] == showtime.id
    assert body["movie"] == "Metropolis"
    assert (body["theater"], body["screen"], body["timezone"]) == (
        "Odeon",
        "Screen 1",
        "Europe/Berlin",
    )
    local = starts.astimezone(zoneinfo.ZoneInfo("Europe/Berlin"))
    assert local.strftime("%Y-%m-%d") in body["local_start"]
    assert local.strftime("%H:%M") in body["local_start"]
    assert body["checked_in_at"]

    again = admin_api.post("/api/v1/checkin/", {"code": first_ticket["code"]}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "already_checked_in"

    # The other seat of the same booking is its own admission.
    other = admin_api.post("/api/v1/checkin/", {"code": second_ticket["code"]}, format="json")
    assert other.status_code == 200
    assert other.json()["seat"] == "A2"


def test_check_in_refuses_forged_unknown_and_cancelled_codes(
    customer_api, admin_api, showtime, no_webhook
):
    from boxoffice.booking.tickets import new_code

    booking = confirmed_booking(customer_api, showtime)
    code = booking["tickets"][0]["code"]
    for index in (3, len(code) // 2, len(code) - 1):  # payload start, middle, signature end
        forged = admin_api.post("/api/v1/checkin/", {"code": _alter(code, index)}, format="json")
        assert forged.status_code == 404, index
    assert (
        admin_api.post("/api/v1/checkin/", {"code": "nonsense"}, format="json").status_code == 404
    )
    # Authentic (signed with our key) but never issued.
    assert (
        admin_api.post("/api/v1/checkin/", {"code": new_code()}, format="json").status_code == 404
    )

    assert customer_api.post(f"/api/v1/bookings/{booking['id']}/cancel/").status_code == 200
    cancelled = admin_api.post("/api/v1/checkin/", {"code": code}, format="json")
    assert cancelled.status_code == 404
    assert not Ticket.objects.filter(checked_in_at__isnull=False).exists()


def test_check_in_is_for_admins_only(customer_api, showtime, no_webhook):
    booking = confirmed_booking(customer_api, showtime)
    code = booking["tickets"][0]["code"]
    assert customer_api.post("/api/v1/checkin/", {"code": code}, format="json").status_code == 403
    assert APIClient().post("/api/v1/checkin/", {"code": code}, format="json").status_code == 401
    assert not Ticket.objects.filter(checked_in_at__isnull=False).exists()


def test_cancelling_an_unpaid_booking_closes_its_payment_intent(customer_api, showtime):
    from boxoffice.payments import gateway

    created = hold(customer_api, showtime, n=1)  # held, and the customer proceeded to pay
    intent_id = intent_of(created["id"])
    assert gateway.retrieve_payment_intent(intent_id).status != "canceled"
    assert customer_api.post(f"/api/v1/bookings/{created['id']}/cancel/").status_code == 200
    # Closed by the worker (queued with the cancellation), so a late payment cannot land.
    run_worker()
    assert gateway.retrieve_payment_intent(intent_id).status == "canceled"


def test_cancelling_a_hold_never_paid_calls_no_one(customer_api, showtime):
    created = hold_only(customer_api, showtime, n=1)
    assert customer_api.post(f"/api/v1/bookings/{created['id']}/cancel/").status_code == 200
    run_worker()
    assert intent_of(created["id"]) == ""
    assert not DBTaskResult.objects.filter(task_path__endswith="close_unpaid_intents_task").exists()

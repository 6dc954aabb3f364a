"""A sold-out 400-seat show cancels in one request: every booking ends and every refund and
email is queued for the worker, once each (the slow parts, Stripe and SMTP, never run inside
the request)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult

from boxoffice.booking import services
from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.notifications.models import EmailNotification
from tests.conftest import future, make_user

pytestmark = pytest.mark.django_db


def test_a_sold_out_400_seat_show_cancels_in_one_request(admin_api, theater, make_showtime):
    screen = Screen.objects.create(theater=theater, name="Grand")
    generate_seat_grid(screen=screen, rows=20, seats_per_row=20)
    show = make_showtime(screen=screen, starts_at=future(days=3))
    seats = list(screen.seats.order_by("pk").values_list("pk", flat=True))
    for n, seat_id in enumerate(seats):
        booking = services.create_hold(user=make_user(f"fan{n}"), showtime=show, seat_ids=[seat_id])
        services.record_payment(booking=booking, amount=booking.total, intent_id=f"pi_fan{n}")
    assert Booking.objects.filter(showtime=show, status="confirmed").count() == 400
    DBTaskResult.objects.all().delete()  # the receipts' tasks: not what this test counts
    EmailNotification.objects.all().delete()

    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        response = admin_api.post(f"/api/v1/showtimes/{show.pk}/cancel/", {"reason": "Flood"})
    elapsed = time.monotonic() - started
    print(f"400 bookings cancelled in {elapsed:.2f} s, {len(queries)} queries")

    assert response.status_code == 200, response.content
    assert not Booking.objects.filter(showtime=show).exclude(status="cancelled").exists()
    assert not BookingSeat.objects.filter(showtime=show, is_live=True).exists()
    refunds = DBTaskResult.objects.filter(task_path__endswith="refund_booking_task")
    assert refunds.count() == 400
    assert EmailNotification.objects.filter(kind="cancellation").count() == 400
    # Repeating it changes nothing more: no second refund or email is queued.
    again = admin_api.post(f"/api/v1/showtimes/{show.pk}/cancel/", {"reason": "Flood"})
    assert again.status_code == 200
    assert refunds.count() == 400
    assert EmailNotification.objects.count() == 400

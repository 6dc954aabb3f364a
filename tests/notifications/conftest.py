"""Fixtures for the email tests: a booking for a show at a fixed local time in any theatre's
zone, written directly (the emails only read it), so the dates need not lie in the future."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from boxoffice.booking.models import Booking, BookingSeat, BookingStatus, Ticket
from boxoffice.booking.pricing import current_policy
from boxoffice.catalog.models import Screen, Seat, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.notifications.models import EmailNotification
from boxoffice.schedule.models import Showtime


@pytest.fixture
def booking_at(movie, customer) -> Callable[..., Booking]:  # type: ignore[no-untyped-def]
    """``booking_at("America/Los_Angeles", datetime(2027, 3, 15, 21, 0))``: a confirmed, paid
    booking of one seat for a show starting at that wall-clock time in that zone."""

    def _make(zone: str, local: datetime, *, status: str = BookingStatus.CONFIRMED) -> Booking:
        theater = Theater.objects.create(name=f"Cinema {zone}", address="1 Main St", timezone=zone)
        screen = Screen.objects.create(theater=theater, name="Screen 1", cleaning_minutes=15)
        generate_seat_grid(screen=screen, rows=1, seats_per_row=2, tiers={})
        starts_at = local.replace(tzinfo=zoneinfo.ZoneInfo(zone))
        show = Showtime.objects.create(
            movie=movie,
            screen=screen,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=movie.duration_minutes),
            blocked_until=starts_at + timedelta(minutes=movie.duration_minutes + 15),
            base_price=Decimal("10.00"),
            currency="usd",
        )
        booking = Booking.objects.create(
            user=customer,
            showtime=show,
            status=status,
            expires_at=starts_at,
            total=Decimal("10.00"),
            currency="usd",
            price_policy=current_policy(),
            paid_amount=Decimal("10.00"),
        )
        seat = Seat.objects.filter(screen=screen).order_by("number").first()
        booked = BookingSeat.objects.create(
            booking=booking,
            showtime=show,
            seat=seat,
            tier=seat.tier,
            base_price=Decimal("10.00"),
            tier_factor=Decimal("1.00"),
            time_factor=Decimal("1.00"),
            price=Decimal("10.00"),
            is_live=status == BookingStatus.CONFIRMED,
        )
        Ticket.objects.create(booking_seat=booked, code=f"BX-TEST-{booking.pk}")
        return booking

    return _make


@pytest.fixture
def note_for() -> Callable[..., EmailNotification]:
    def _make(booking: Booking, kind: str = EmailNotification.Kind.RECEIPT) -> EmailNotification:
        return EmailNotification.objects.create(booking=booking, kind=kind)

    return _make

"""Check-in at the door: any unknown code is a 404 whatever its characters, a ticket admits only
while its show is on (doors open CHECKIN_OPENS_MINUTES before the start, close at its end),
and the answer names seat, show, movie and the local start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from boxoffice.booking import services
from boxoffice.booking.models import Booking, Ticket
from boxoffice.schedule.models import Showtime
from tests.conftest import make_user

from .helpers import seat_ids

pytestmark = pytest.mark.django_db

CHECKIN = "/api/v1/checkin/"


def _ticket(showtime: Showtime, label: str = "C3") -> Ticket:
    booking = services.create_hold(
        user=make_user("carol"), showtime=showtime, seat_ids=seat_ids(showtime, label)
    )
    services.record_payment(booking=booking, amount=booking.total)
    return Ticket.objects.get(booking_seat__booking=booking)


def _move(showtime: Showtime, starts_in: timedelta) -> None:
    starts = timezone.now() + starts_in
    Showtime.objects.filter(pk=showtime.pk).update(
        starts_at=starts, ends_at=starts + timedelta(minutes=120)
    )


@pytest.mark.parametrize(
    "code",
    ["BX-AAAA-É", "BX-ÄÖÜ-ß", "😀", "BX--", "bx-" + "a" * 60, "BX-AAAA-\x00", " "],
)
def test_any_unknown_code_is_a_404(admin_api, code):
    response = admin_api.post(CHECKIN, {"code": code}, format="json")
    # A blank code is invalid input (400, naming the field); any other unknown code is not found.
    if code.strip():
        assert response.status_code == 404, response.content
        assert response.json()["errors"][0]["code"] == "not_found"
    else:
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["attr"] == "code"


def test_admits_once_while_the_show_is_on_and_names_it(admin_api, make_showtime, theater):
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    ticket = _ticket(show)

    first = admin_api.post(CHECKIN, {"code": ticket.code})
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["seat"] == "C3"
    assert body["movie"] == "Metropolis"
    assert body["showtime"] == show.pk
    assert body["timezone"] == "Europe/Berlin"
    local = show.starts_at.astimezone(theater.tzinfo)
    assert body["local_start"] == local.strftime("%Y-%m-%d %H:%M")

    second = admin_api.post(CHECKIN, {"code": ticket.code})
    assert second.status_code == 409
    error = second.json()["errors"][0]
    assert error["code"] == "already_checked_in"
    assert "Metropolis" in error["detail"]


@pytest.mark.parametrize(
    ("starts_in", "code"),
    [(timedelta(hours=3), "show_not_open"), (timedelta(hours=-3), "show_ended")],
    ids=["doors-not-open", "show-over"],
)
def test_refused_outside_the_show_naming_it(admin_api, showtime, starts_in, code):
    ticket = _ticket(showtime)
    _move(showtime, starts_in)

    response = admin_api.post(CHECKIN, {"code": ticket.code})
    assert response.status_code == 409, response.content
    error = response.json()["errors"][0]
    assert error["code"] == code
    assert f"show {showtime.pk}" in error["detail"]
    assert not Ticket.objects.filter(pk=ticket.pk, checked_in_at__isnull=False).exists()


def test_doors_open_setting(admin_api, showtime, settings):
    ticket = _ticket(showtime)
    _move(showtime, timedelta(hours=3))
    settings.CHECKIN_OPENS_MINUTES = 240
    assert admin_api.post(CHECKIN, {"code": ticket.code}).status_code == 200


def test_a_cancelled_booking_does_not_admit(admin_api, showtime):
    ticket = _ticket(showtime)
    _move(showtime, timedelta(minutes=30))
    booking = Booking.objects.get(seats__ticket=ticket)
    services.cancel_booking(booking=booking, by=make_user("boss", role="admin"))
    assert admin_api.post(CHECKIN, {"code": ticket.code}).status_code == 404

"""The shop asks booking's own rules (boxoffice.booking.selectors) what a booking allows, and
its JSON answers use the API's one error shape: the check-in count, and the development-only
test-card door (routed only in development with localstripe)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.booking import selectors, services
from boxoffice.booking.models import Booking, Ticket
from boxoffice.core.errors import Conflict
from boxoffice.schedule.services import cancel_showtime
from tests.admin.conftest import book
from tests.conftest import bearer
from tests.test_deploy import _production_env

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.cookies["access_token"] = str(RefreshToken.for_user(user).access_token)
    return client


def _card(html: str, booking: Booking) -> str:
    match = re.search(rf'<article [^>]*id="booking-{booking.pk}".*?</article>', html, re.S)
    assert match, html
    return match.group(0)


def _cancel_accepted(booking: Booking, by) -> bool:  # type: ignore[no-untyped-def]
    """What services.cancel_booking says, without keeping the cancellation."""
    try:
        with transaction.atomic():
            services.cancel_booking(booking=booking, by=by)
            raise _Undo
    except _Undo:
        return True
    except Conflict:
        return False


class _Undo(Exception):
    pass


def test_booking_cancellable_says_what_the_cancel_service_does(  # type: ignore[no-untyped-def]
    make_showtime, customer, admin_user, settings
):
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 60
    early = make_showtime(starts_at=timezone.now() + timedelta(days=1))
    soon = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    lapsed = book(early, customer, "A2", paid=False)
    Booking.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    lapsed.refresh_from_db()
    cancelled = book(early, customer, "A3")
    services.cancel_booking(booking=cancelled, by=customer)
    cases = {
        "holding": book(early, customer, "A1", paid=False),
        "lapsed": lapsed,
        "paid early": book(early, customer, "B1"),
        "paid, past the cut-off": book(soon, customer, "B1"),
        "cancelled": Booking.objects.get(pk=cancelled.pk),
    }
    verdicts = {}
    for name, booking in cases.items():
        for who in (customer, admin_user):
            asked = Booking.objects.select_related("showtime").get(pk=booking.pk)
            says = selectors.booking_cancellable(asked, by=who, now=timezone.now())
            assert says == _cancel_accepted(asked, who), (name, who.username)
            verdicts[name, who.username] = says
    assert verdicts == {
        ("holding", "alice"): True,
        ("holding", "root"): True,
        ("lapsed", "alice"): False,
        ("lapsed", "root"): False,
        ("paid early", "alice"): True,
        ("paid early", "root"): True,
        ("paid, past the cut-off", "alice"): False,
        ("paid, past the cut-off", "root"): True,  # customer service may, at any time
        ("cancelled", "alice"): False,
        ("cancelled", "root"): False,
    }


def test_nobody_may_cancel_someone_elses_booking(showtime, customer, other_customer):  # type: ignore[no-untyped-def]
    booking = book(showtime, customer, "A1")
    assert not selectors.booking_cancellable(booking, by=other_customer, now=timezone.now())


def test_can_pay_says_what_the_payment_service_does(make_showtime, customer, admin_user):  # type: ignore[no-untyped-def]
    show = make_showtime()
    holding = book(show, customer, "A1", paid=False)
    paid = book(show, customer, "A2")
    lapsed = book(show, customer, "A3", paid=False)
    Booking.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    doomed_show = make_showtime(starts_at=show.starts_at + timedelta(hours=4))
    doomed = book(doomed_show, customer, "A1", paid=False)
    cancel_showtime(showtime=doomed_show, reason="projector broken", by=admin_user)
    expected = {holding.pk: True, paid.pk: False, lapsed.pk: False, doomed.pk: False}
    for pk, payable in expected.items():
        booking = Booking.objects.select_related("showtime").get(pk=pk)
        assert selectors.can_pay(booking, now=timezone.now()) is payable, pk
        try:
            services.check_payable(booking=booking)
            accepted = True
        except Conflict:
            accepted = False
        assert accepted is payable, pk


def test_my_bookings_offers_only_what_booking_allows(make_showtime, customer, settings):  # type: ignore[no-untyped-def]
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 60
    early = make_showtime(starts_at=timezone.now() + timedelta(days=1))
    soon = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    paid = book(early, customer, "A1")
    closed = book(soon, customer, "A1")
    holding = book(early, customer, "B1", paid=False)
    lapsed = book(early, customer, "B2", paid=False)
    Booking.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    html = signed_in(customer).get("/bookings/").content.decode()

    card = _card(html, paid)
    assert f"Cancel and refund ${paid.total}" in card
    assert "Continue to payment" not in card
    card = _card(html, closed)
    assert "Cancel and refund" not in card
    assert "Online cancellation closed 60 minutes before the show" in card
    card = _card(html, holding)
    assert f'href="/checkout/{holding.pk}/"' in card
    card = _card(html, lapsed)
    assert "Continue to payment" not in card  # the hold lapsed: nothing to pay
    assert "Expired" in card


def test_tickets_show_the_apis_qr_images(showtime, customer):  # type: ignore[no-untyped-def]
    booking = book(showtime, customer, "A1", "A2")
    client = signed_in(customer)
    card = _card(client.get("/bookings/").content.decode(), booking)
    codes = Ticket.objects.filter(booking_seat__booking=booking).values_list("code", flat=True)
    sources = re.findall(r'<img src="([^"]+)" alt="QR code of the ticket for seat (A\d)"', card)
    assert sorted(src for src, _ in sources) == sorted(
        f"/api/v1/bookings/{booking.pk}/tickets/{code}/qr.png" for code in codes
    )
    for src, _ in sources:
        image = client.get(src)
        assert image.status_code == 200
        assert image["Content-Type"] == "image/png"


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_the_checkin_count_refuses_non_staff_in_the_apis_error_shape(customer, who):  # type: ignore[no-untyped-def]
    client = Client() if who == "anonymous" else signed_in(customer)
    response = client.get("/staff/checkin/count/1/")
    assert response.status_code == 403
    body = response.json()
    assert body["type"] == "client_error"
    assert [e["code"] for e in body["errors"]] == ["permission_denied"]


def test_the_checkin_count_counts_admitted_of_sold(make_showtime, customer, admin_user):  # type: ignore[no-untyped-def]
    show = make_showtime()
    book(show, customer, "A1", "A2", "A3")
    book(show, customer, "B1", paid=False)  # held, not sold
    first = Ticket.objects.filter(booking_seat__showtime=show).order_by("pk").first()
    Ticket.objects.filter(pk=first.pk).update(checked_in_at=timezone.now())
    response = signed_in(admin_user).get(f"/staff/checkin/count/{show.pk}/")
    assert response.status_code == 200
    assert response.json() == {"showtime": show.pk, "admitted": 1, "sold": 3}


# --- the development-only test-card door -------------------------------------------------------


@pytest.fixture
def opened(showtime, customer):  # type: ignore[no-untyped-def]
    """A hold with its payment opened through the API (localstripe)."""
    booking = book(showtime, customer, "C1", paid=False)
    assert bearer(customer).post(f"/api/v1/bookings/{booking.pk}/pay/").status_code == 200
    return booking


def _post_card(client: Client, booking: Booking, number: object):  # type: ignore[no-untyped-def]
    return client.post(
        f"/checkout/{booking.pk}/test-card/", json.dumps({"number": number}), "application/json"
    )


@pytest.mark.parametrize("number", ["4242", "", None, "4242 4242 4242 424x", 4242424242424242])
def test_the_test_card_door_refuses_a_bad_number_in_the_apis_error_shape(  # type: ignore[no-untyped-def]
    opened, customer, number
):
    response = _post_card(signed_in(customer), opened, number)
    if number == 4242424242424242:  # a JSON number is still the card's digits
        assert response.status_code == 200
        assert response.json() == {"status": "succeeded"}
        return
    assert response.status_code == 400
    assert response.json() == {
        "type": "validation_error",
        "errors": [
            {
                "code": "incorrect_number",
                "detail": "Your card number is incomplete.",
                "attr": "number",
            }
        ],
    }
    assert Booking.objects.get(pk=opened.pk).status == "pending"


def test_the_test_card_door_pays_and_declines(opened, customer):  # type: ignore[no-untyped-def]
    client = signed_in(customer)
    assert _post_card(client, opened, "4000000000000341").json() == {"status": "declined"}
    assert _post_card(client, opened, "4242 4242 4242 4242").json() == {"status": "succeeded"}


def test_the_test_card_door_is_not_found_for_others(opened, other_customer):  # type: ignore[no-untyped-def]
    for client in (signed_in(other_customer), Client()):
        response = _post_card(client, opened, "4242424242424242")
        assert response.status_code == 404
        assert response.json()["type"] == "client_error"


def _routed(**env: str) -> bool:
    """Whether a process started with ``env`` routes the test-card door."""
    code = (
        "import django; django.setup()\n"
        "from django.urls import Resolver404, resolve\n"
        "try:\n"
        "    resolve('/checkout/1/test-card/')\n"
        "    print('routed')\n"
        "except Resolver404:\n"
        "    print('absent')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.strip() == "routed"


def test_the_test_card_door_is_routed_only_in_development_with_localstripe():  # type: ignore[no-untyped-def]
    development = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "STRIPE_"))
    }
    assert _routed(**development)
    assert not _routed(**development, STRIPE_API_BASE="")
    # Production, even with an emulator's address set by mistake.
    assert not _routed(**_production_env())
    assert not _routed(**_production_env(STRIPE_API_BASE="http://127.0.0.1:8420"))


def test_the_shops_json_helpers_are_not_in_the_api_schema():  # type: ignore[no-untyped-def]
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert [p for p in paths if not p.startswith("/api/")] == []


def test_my_bookings_offers_no_refund_for_a_used_ticket(make_showtime, customer, settings):  # type: ignore[no-untyped-def]
    """Doors open before the cut-off: a ticket used at the door is shown checked in, and the
    booking is not offered for a refund (the API would answer 409 ``checked_in``)."""
    show = make_showtime(starts_at=timezone.now() + timedelta(minutes=90))
    used = book(show, customer, "A1")
    unused = book(show, customer, "A2")
    Ticket.objects.filter(booking_seat__booking=used).update(checked_in_at=timezone.now())
    html = signed_in(customer).get("/bookings/").content.decode()

    assert "Cancel and refund" not in _card(html, used)
    assert f"Cancel and refund ${unused.total}" in _card(html, unused)
    assert not selectors.booking_cancellable(used, by=customer, now=timezone.now())
    assert not _cancel_accepted(used, customer)

"""The shop's pages without a browser: they render, carry the CSP, keep the staff page for
staff, keep the test-card door shut with live keys, and stay inside the size budget."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from django.test import Client
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.booking import services as booking_services
from boxoffice.catalog.models import Seat

STATIC = Path(__file__).resolve().parents[2] / "boxoffice" / "shop" / "static"


def signed_in(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.cookies["access_token"] = str(RefreshToken.for_user(user).access_token)
    return client


def test_home_lists_the_days_shows_by_theatre_with_from_prices(db, showtime):  # type: ignore[no-untyped-def]
    local = showtime.starts_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    response = Client().get(f"/?date={local.date().isoformat()}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Odeon" in html
    assert "Metropolis" in html
    assert f"/shows/{showtime.pk}/" in html
    assert "from $10.00" in html  # standard is the cheapest tier
    assert "19:00" in html  # the theatre's own clock


def test_every_page_has_a_policy_without_inline_scripts(db, showtime, customer):  # type: ignore[no-untyped-def]
    client = signed_in(customer)
    for path in ["/", f"/shows/{showtime.pk}/", "/bookings/", "/signin/", "/signup/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response["Content-Security-Policy"]
        script = re.search(r"script-src ([^;]+)", policy).group(1)
        assert "unsafe-inline" not in script
        assert "unsafe-eval" not in script
        assert "<script>" not in response.content.decode()


def test_checkout_allows_exactly_the_stripe_js_origin(db, showtime, customer, settings):  # type: ignore[no-untyped-def]
    seat = Seat.objects.filter(screen=showtime.screen).first()
    booking = booking_services.create_hold(user=customer, showtime=showtime, seat_ids=[seat.pk])
    settings.STRIPE_API_BASE = "http://127.0.0.1:8420"
    response = signed_in(customer).get(f"/checkout/{booking.pk}/")
    assert response.status_code == 200
    assert 'src="http://127.0.0.1:8420/js.stripe.com/v3/"' in response.content.decode()
    assert "script-src 'self' http://127.0.0.1:8420;" in response["Content-Security-Policy"]
    settings.STRIPE_API_BASE = ""
    response = signed_in(customer).get(f"/checkout/{booking.pk}/")
    assert 'src="https://js.stripe.com/v3/"' in response.content.decode()
    assert "script-src 'self' https://js.stripe.com;" in response["Content-Security-Policy"]


def test_someone_elses_checkout_is_not_found(db, showtime, customer, other_customer):  # type: ignore[no-untyped-def]
    seat = Seat.objects.filter(screen=showtime.screen).first()
    booking = booking_services.create_hold(user=customer, showtime=showtime, seat_ids=[seat.pk])
    assert signed_in(other_customer).get(f"/checkout/{booking.pk}/").status_code == 404
    assert Client().get(f"/checkout/{booking.pk}/").status_code == 302


def test_the_test_card_door_is_shut_with_live_keys(db, showtime, customer, settings):  # type: ignore[no-untyped-def]
    seat = Seat.objects.filter(screen=showtime.screen).first()
    booking = booking_services.create_hold(user=customer, showtime=showtime, seat_ids=[seat.pk])
    settings.STRIPE_SECRET_KEY = "sk_live_nope"
    client = signed_in(customer)
    response = client.post(
        f"/checkout/{booking.pk}/test-card/", {"number": "4242424242424242"}, "application/json"
    )
    assert response.status_code == 404


@pytest.mark.parametrize(("who", "status"), [("anonymous", 302), ("customer", 403), ("admin", 200)])
def test_checkin_page_is_for_staff(db, customer, admin_user, who, status):  # type: ignore[no-untyped-def]
    client = {
        "anonymous": Client(),
        "customer": signed_in(customer),
        "admin": signed_in(admin_user),
    }[who]
    assert client.get("/staff/checkin/").status_code == status
    count = client.get("/staff/checkin/count/1/")
    assert count.status_code == (200 if who == "admin" else 403)


def test_show_page_js_and_css_fit_the_budget(db, showtime):  # type: ignore[no-untyped-def]
    """Our own JS and CSS of the show page's first load, gzip-compressed: under 100 kB. The
    modules the page loads are found by following its tags and each module's imports."""
    html = Client().get(f"/shows/{showtime.pk}/").content.decode()
    queue = re.findall(r'(?:src|href)="/static/(shop/[^"]+\.(?:js|css))"', html)
    seen: set[str] = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        if name.endswith(".js"):
            text = (STATIC / name).read_text()
            queue += [f"shop/{m}" for m in re.findall(r"from '\./([\w-]+\.js)'", text)]
    assert {"shop/shop.css", "shop/picker.js", "shop/api.js", "shop/session.js"} <= seen
    compressed = sum(len(gzip.compress((STATIC / name).read_bytes(), 9)) for name in seen)
    assert compressed < 100_000, compressed

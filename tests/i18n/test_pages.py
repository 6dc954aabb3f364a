"""Every shop page and the staff check-in page in English and in German, over HTTP: the
language follows Accept-Language and the switch's cookie, the page says which (``<html lang>``,
``Content-Language``), dates and money read as the language writes them, theatre-local times
stay in the theatre's zone, and the scripts get their catalog as JSON, not as a script."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.booking import services as booking_services
from tests.admin.conftest import book
from tests.conftest import future

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de-DE,de;q=0.9,en;q=0.5"}
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}


def client_for(user=None) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    if user is not None:
        client.cookies["access_token"] = str(RefreshToken.for_user(user).access_token)
    return client


def page(client: Client, path: str, headers: dict[str, str], status: int = 200) -> str:
    response = client.get(path, **headers)
    assert response.status_code == status, (path, response.status_code)
    language = "de" if headers is GERMAN else "en"
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    return html


def scripts_catalog(html: str) -> dict:
    found = re.search(r'<script id="shop-i18n" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the page carries no catalog for its scripts"
    return json.loads(found.group(1))


@pytest.fixture
def paid(showtime, customer):  # type: ignore[no-untyped-def]
    return book(showtime, customer, "A1", "A2")


def test_home_in_both_languages_with_local_times_and_money(showtime):  # type: ignore[no-untyped-def]
    day = showtime.starts_at.astimezone(showtime.screen.theater.tzinfo).date()
    english = page(client_for(), f"/?date={day.isoformat()}", ENGLISH)
    german = page(client_for(), f"/?date={day.isoformat()}", GERMAN)
    assert "Shows on " in english
    assert "from $10.00" in english
    assert "Vorstellungen am " in german
    assert "ab 10,00 $" in german
    assert "19:00" in english
    assert "19:00" in german
    weekday_de = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
    assert f"{weekday_de[day.weekday()]}, {day.day}. " in german  # "Mittwoch, 3. Dezember 2026"
    assert "Shows on" not in german


def test_show_page_in_both_languages(showtime, customer):  # type: ignore[no-untyped-def]
    english = page(client_for(customer), f"/shows/{showtime.pk}/", ENGLISH)
    german = page(client_for(customer), f"/shows/{showtime.pk}/", GERMAN)
    assert "Pick your seats" in english
    assert "Hold seats" in english
    assert "Wählen Sie Ihre Plätze" in german
    assert "Plätze reservieren" in german
    assert "Pick your seats" not in german
    # The scripts' words come with the page, as data.
    assert scripts_catalog(german)["catalog"]["Price breakdown"] == "Preisaufstellung"
    assert scripts_catalog(german)["money"]["decimal"] == ","
    assert scripts_catalog(english)["catalog"] == {}
    assert scripts_catalog(english)["money"]["symbolFirst"] is True


def test_checkout_in_both_languages(showtime, customer):  # type: ignore[no-untyped-def]
    hold = book(showtime, customer, "B1", paid=False)
    english = page(client_for(customer), f"/checkout/{hold.pk}/", ENGLISH)
    german = page(client_for(customer), f"/checkout/{hold.pk}/", GERMAN)
    assert "Release these seats" in english
    assert "Diese Plätze freigeben" in german
    assert "Kasse" in german


def test_my_bookings_in_both_languages(paid, customer):  # type: ignore[no-untyped-def]
    english = page(client_for(customer), "/bookings/", ENGLISH)
    german = page(client_for(customer), "/bookings/", GERMAN)
    total = paid.total
    assert f"Cancel and refund ${total}" in english
    assert "Confirmed" in english
    german_total = f"{total:.2f}".replace(".", ",") + " $"
    assert f"Stornieren und {german_total} erstatten" in german
    assert "Bestätigt" in german
    assert f"gesamt {german_total}" in german
    assert "Sie können bis " in german
    assert "Minuten vor der Vorstellung" in german


def test_the_account_and_password_pages_in_both_languages(customer):  # type: ignore[no-untyped-def]
    for path, english_words, german_words in [
        ("/account/", "Change your password", "Passwort ändern"),
        ("/signin/", "Forgot your password?", "Passwort vergessen?"),
        ("/signup/", "Create an account", "Konto anlegen"),
        ("/forgot/", "Send me a link", "Link senden"),
        ("/reset/MQ/some-token/", "Choose a new password", "Neues Passwort wählen"),
    ]:
        user = customer if path == "/account/" else None
        assert english_words in page(client_for(user), path, ENGLISH), path
        assert german_words in page(client_for(user), path, GERMAN), path


def test_the_account_page_shows_the_stored_language(customer):  # type: ignore[no-untyped-def]
    customer.language = "de"
    customer.save(update_fields=["language"])
    html = page(client_for(customer), "/account/", ENGLISH)
    assert re.search(r'<option value="de" lang="de" selected>Deutsch</option>', html)
    assert "Language of your emails" in html


def test_the_check_in_page_in_both_languages(admin_user):  # type: ignore[no-untyped-def]
    assert "Ticket code" in page(client_for(admin_user), "/staff/checkin/", ENGLISH)
    assert "Ticketcode" in page(client_for(admin_user), "/staff/checkin/", GERMAN)


def test_messages_and_the_refresh_page_in_both_languages(customer):  # type: ignore[no-untyped-def]
    assert "There is no such show." in page(client_for(), "/shows/999999/", ENGLISH, 404)
    assert "Diese Vorstellung gibt es nicht." in page(client_for(), "/shows/999999/", GERMAN, 404)
    stale = Client()
    stale.cookies["refresh_token"] = "x"
    assert "Signing you back in" in page(stale, "/bookings/", ENGLISH)
    assert "Sie werden wieder angemeldet" in page(stale, "/bookings/", GERMAN)


def test_the_language_switch_sets_a_cookie_that_wins_over_accept_language(showtime):  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    html = page(client, f"/shows/{showtime.pk}/", ENGLISH)
    assert 'action="/i18n/setlang/" method="post"' in html
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    response = client.post(
        "/i18n/setlang/",
        {"language": "de", "csrfmiddlewaretoken": token},
        HTTP_REFERER=f"http://testserver/shows/{showtime.pk}/",
        **ENGLISH,
    )
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/shows/{showtime.pk}/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "de"
    assert "Wählen Sie Ihre Plätze" in page(client, f"/shows/{showtime.pk}/", GERMAN)
    german = client.get(f"/shows/{showtime.pk}/", **ENGLISH)  # the cookie wins
    assert german["Content-Language"] == "de"


def test_the_switch_refuses_a_post_without_csrf(showtime):  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    response = client.post("/i18n/setlang/", {"language": "de"})
    assert response.status_code == 403
    assert settings.LANGUAGE_COOKIE_NAME not in client.cookies


def test_an_unknown_language_falls_back_to_english(showtime):  # type: ignore[no-untyped-def]
    response = Client().get("/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert response["Content-Language"] == "en"
    assert '<html lang="en">' in response.content.decode()


def test_a_theatre_elsewhere_keeps_its_own_clock_in_german(make_showtime, screen):  # type: ignore[no-untyped-def]
    theater = screen.theater
    theater.timezone = "America/Los_Angeles"
    theater.save(update_fields=["timezone"])
    show = make_showtime(starts_at=future(days=2, hour=21, tz="America/Los_Angeles"))
    html = page(client_for(), f"/shows/{show.pk}/", GERMAN)
    assert "21:00" in html
    assert "America/Los_Angeles" in html


def test_money_of_another_currency_reads_the_german_way(make_showtime, customer):  # type: ignore[no-untyped-def]
    show = make_showtime(
        starts_at=timezone.now() + timedelta(days=3), base_price=Decimal("1234.50"), currency="eur"
    )
    booking_services.create_hold(
        user=customer, showtime=show, seat_ids=[show.screen.seats.order_by("pk").first().pk]
    )
    german = page(client_for(customer), "/bookings/", GERMAN)
    english = page(client_for(customer), "/bookings/", ENGLISH)
    assert re.search(r"gesamt 1\.\d{3},\d{2} €", german)
    assert re.search(r"total €1,\d{3}\.\d{2}", english)

"""Every email in the customer's language (``User.language``, not the language of whoever
caused it), with ``Content-Language``: the receipt, the cancellation (the customer's own and a
show the cinema cancelled) and the password reset. Dates in the theatre's zone, money as the
language writes it."""

from __future__ import annotations

import re
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message

import pytest
from rest_framework.test import APIClient

from boxoffice.accounts.models import User
from boxoffice.booking.models import BookingStatus
from boxoffice.notifications.emails import compose
from boxoffice.notifications.models import EmailNotification
from tests.conftest import PASSWORD
from tests.payments.conftest import run_worker

LA_SHOW = datetime(2027, 3, 15, 21, 0)  # a Monday, 21:00 in Los Angeles (05:00 UTC next day)


def _speaks(user: User, language: str) -> None:
    user.language = language
    user.save(update_fields=["language"])


def _parts(message) -> tuple[str, str, Message]:  # type: ignore[no-untyped-def]
    (html, mime) = message.alternatives[0]
    assert mime == "text/html"
    return message.body, html, message.message()


@pytest.mark.django_db
def test_the_receipt_in_german_and_in_english(booking_at, note_for, customer):  # type: ignore[no-untyped-def]
    booking = booking_at("America/Los_Angeles", LA_SHOW)
    _speaks(customer, "de")
    text, html, mime = _parts(compose(note_for(booking)))
    assert mime["Content-Language"] == "de"
    assert mime["Subject"] == "Ihre Tickets für Metropolis"
    for body in (text, html):
        assert "Hallo alice," in body
        assert "Montag, 15. März 2027, 21:00 (America/Los_Angeles)" in body
        assert "Bezahlt insgesamt: 10,00 $" in body
    assert "Platz A1 (Standard): 10,00 $" in text
    assert '<html lang="de">' in html

    _speaks(customer, "en")
    text, html, mime = _parts(compose(note_for(booking, EmailNotification.Kind.CANCELLATION)))
    assert mime["Content-Language"] == "en"
    assert mime["Subject"] == f"Booking #{booking.pk} cancelled"
    assert "Monday 15 March 2027, 21:00 (America/Los_Angeles)" in text
    assert "You paid $10.00; the full amount is being refunded to your card." in text
    assert '<html lang="en">' in html


@pytest.mark.django_db
def test_a_cancelled_show_is_announced_in_german(booking_at, note_for, customer):  # type: ignore[no-untyped-def]
    booking = booking_at("Europe/Berlin", datetime(2027, 3, 29, 20, 0))
    booking.showtime.cancel_reason = "Projektor defekt"
    booking.showtime.save(update_fields=["cancel_reason"])
    booking.status = BookingStatus.CANCELLED
    booking.cancel_reason = "show_cancelled"
    booking.save(update_fields=["status", "cancel_reason"])
    _speaks(customer, "de")
    text, html, mime = _parts(compose(note_for(booking, EmailNotification.Kind.CANCELLATION)))
    assert mime["Subject"] == "Vorstellung abgesagt: Metropolis, 29. Mär, 20:00"
    assert mime["Content-Language"] == "de"
    assert "Das Kino hat diese Vorstellung abgesagt: Projektor defekt." in text
    assert "Montag, 29. März 2027, 20:00 (Europe/Berlin), ist storniert." in text
    assert "Sie haben 10,00 $ bezahlt; der volle Betrag wird Ihrer Karte gutgeschrieben." in html


@pytest.mark.django_db
def test_the_worker_language_does_not_leak_into_emails(booking_at, note_for, customer):  # type: ignore[no-untyped-def]
    """A German email composed while another language is active (a request's, a previous
    email's) is still German, and the active language is restored afterwards."""
    from django.utils import translation

    booking = booking_at("Europe/Berlin", datetime(2027, 3, 29, 20, 0))
    _speaks(customer, "de")
    with translation.override("en"):
        text, _, _ = _parts(compose(note_for(booking)))
        assert translation.get_language() == "en"
    assert "vielen Dank für Ihre Buchung" in text


def _text(message: Message) -> str:
    return next(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("accept", "subject", "greeting", "language"),
    [
        ("de-DE,de;q=0.9", "Ihr boxoffice-Passwort zurücksetzen", "Hallo zoe,", "de"),
        ("en-GB,en;q=0.9", "Reset your boxoffice password", "Hello zoe,", "en"),
    ],
)
def test_sign_up_then_the_reset_email_in_the_language_of_the_sign_up(
    smtp_server, accept, subject, greeting, language
):  # type: ignore[no-untyped-def]
    """Over HTTP end to end: the sign-up stores the browser's language, and the worker writes
    the password-reset email in it (whatever language the reset request itself came in)."""
    from django.core.cache import cache

    cache.clear()  # throttle counters outlive a transactional test's rows
    inbox, _ = smtp_server
    client = APIClient()
    created = client.post(
        "/api/v1/auth/register/",
        {"username": "zoe", "email": "zoe@example.com", "password": PASSWORD},
        format="json",
        HTTP_ACCEPT_LANGUAGE=accept,
    )
    assert created.status_code == 201, created.content
    assert created.json()["language"] == language
    reset = APIClient().post(
        "/api/v1/auth/password-reset/",
        {"email": "zoe@example.com"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="fr-FR",
    )
    assert reset.status_code == 204
    run_worker()
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert str(make_header(decode_header(message["Subject"]))) == subject
    assert message["Content-Language"] == language
    text = _text(message)
    assert greeting in text
    assert re.search(r"https?://\S+/reset/[\w-]+/[\w-]+/", text)

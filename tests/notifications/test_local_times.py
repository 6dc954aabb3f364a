"""Emails show the show's start on the theatre's own wall clock, whatever the server's or the
request's time zone, and across a daylight-saving change (docs/api.md, "Email": "the local start
time"). Each case is the text a customer reads, in the plain-text and the HTML part, for the
receipt and for the cancellation."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.utils import timezone

from boxoffice.notifications.emails import compose
from boxoffice.notifications.models import EmailNotification

pytestmark = pytest.mark.django_db

KINDS = [EmailNotification.Kind.RECEIPT, EmailNotification.Kind.CANCELLATION]

CASES = [
    # A 21:00 show in Los Angeles is 05:00 UTC the next day (the reported bug), here on the
    # day after the spring-forward change (14 March 2027: PST -8 became PDT -7).
    pytest.param(
        "America/Los_Angeles",
        datetime(2027, 3, 15, 21, 0),
        "Monday 15 March 2027, 21:00 (America/Los_Angeles)",
        id="los-angeles-day-after-dst-start",
    ),
    # Los Angeles in winter (PST) and the day after the fall-back change (7 November 2027).
    pytest.param(
        "America/Los_Angeles",
        datetime(2026, 12, 5, 21, 30),
        "Saturday 5 December 2026, 21:30 (America/Los_Angeles)",
        id="los-angeles-winter",
    ),
    pytest.param(
        "America/Los_Angeles",
        datetime(2027, 11, 8, 17, 15),
        "Monday 8 November 2027, 17:15 (America/Los_Angeles)",
        id="los-angeles-day-after-dst-end",
    ),
    # Berlin: the day after the change to summer time (28 March 2027: CET +1 became CEST +2).
    pytest.param(
        "Europe/Berlin",
        datetime(2027, 3, 29, 20, 0),
        "Monday 29 March 2027, 20:00 (Europe/Berlin)",
        id="berlin-day-after-dst-start",
    ),
    # Tokyo (+9, no DST): a morning show is the previous evening in UTC.
    pytest.param(
        "Asia/Tokyo",
        datetime(2027, 1, 10, 8, 30),
        "Sunday 10 January 2027, 08:30 (Asia/Tokyo)",
        id="tokyo-morning",
    ),
]


def _parts(note: EmailNotification) -> tuple[str, str]:
    message = compose(note)
    (html, mime) = message.alternatives[0]
    assert mime == "text/html"
    return message.body, html


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("zone", "local", "expected"), CASES)
def test_the_email_shows_the_theatres_wall_clock(booking_at, note_for, kind, zone, local, expected):
    note = note_for(booking_at(zone, local), kind)
    text, html = _parts(note)
    assert expected in text
    assert expected in html


@pytest.mark.parametrize("current", ["UTC", "Asia/Kolkata", "America/New_York"])
def test_the_current_time_zone_does_not_matter(booking_at, note_for, current):
    """The worker runs in UTC, a request in whatever zone was activated: same text."""
    note = note_for(booking_at("America/Los_Angeles", datetime(2027, 3, 15, 21, 0)))
    with timezone.override(current):
        text, html = _parts(note)
    assert "Monday 15 March 2027, 21:00 (America/Los_Angeles)" in text
    assert "Monday 15 March 2027, 21:00 (America/Los_Angeles)" in html
    assert "05:00" not in text

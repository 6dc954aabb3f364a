"""The home page's "Today" and day tabs read each theatre's own local date, never the UTC one:
far from UTC the two differ for hours every day."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client, RequestFactory
from django.utils import timezone

from boxoffice.catalog.models import Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.shop import views

pytestmark = pytest.mark.django_db

AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")  # UTC+13 in January (summer time)
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")  # UTC-8 in January
# 20:00 UTC on 15 January: 09:00 on the 16th in Auckland, 12:00 on the 15th in Los Angeles.
NOW = datetime(2031, 1, 15, 20, 0, tzinfo=UTC)


def _screen(name: str, tz: str) -> Screen:
    theater = Theater.objects.create(name=name, address="1 Main St", timezone=tz)
    screen = Screen.objects.create(theater=theater, name="Screen 1", single_seat_rule=False)
    generate_seat_grid(screen=screen, rows=2, seats_per_row=3)
    return screen


def _home(query: str = "", now: datetime = NOW) -> str:
    request = RequestFactory().get("/" + query)
    response = views.home(request, now=now)
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, theater: str) -> str:
    """The theatre's section of the page (empty when it lists nothing)."""
    match = re.search(
        rf"<section class=\"theater\"[^>]*>\s*<h2[^>]*>{theater} .*?</section>", html, re.S
    )
    return match.group(0) if match else ""


def _tabs(html: str) -> list[tuple[str, str, bool]]:
    nav = re.search(r'<nav aria-label="Days".*?</ul>', html, re.S).group(0)
    return [
        (href, text, bool(current))
        for href, current, text in re.findall(
            r'<a href="([^"]*)"( aria-current="date")?>([^<]*)</a>', nav
        )
    ]


@pytest.fixture
def far_shows(make_showtime, movie):  # type: ignore[no-untyped-def]
    """Evening shows at 19:00 local on three dates in Auckland and in Los Angeles."""
    auckland, los_angeles = (
        _screen("Auckland Civic", "Pacific/Auckland"),
        _screen("LA Palace", "America/Los_Angeles"),
    )
    shows = {}
    for screen, tz, key in ((auckland, AUCKLAND, "akl"), (los_angeles, LOS_ANGELES, "la")):
        for day in (15, 16, 17):
            shows[key, day] = make_showtime(
                starts_at=datetime(2031, 1, day, 19, 0, tzinfo=tz), screen=screen
            )
    return shows


def test_today_is_each_theatres_own_date_not_the_utc_one(far_shows):  # type: ignore[no-untyped-def]
    html = _home()
    assert "<h1>Shows today</h1>" in html
    akl, la = _section(html, "Auckland Civic"), _section(html, "LA Palace")
    # Auckland's today is the 16th (its 15th is over); Los Angeles' is still the 15th.
    assert f"/shows/{far_shows['akl', 16].pk}/" in akl
    assert f"/shows/{far_shows['akl', 15].pk}/" not in html
    assert f"/shows/{far_shows['akl', 17].pk}/" not in html
    assert f"/shows/{far_shows['la', 15].pk}/" in la
    assert f"/shows/{far_shows['la', 16].pk}/" not in html
    # Their todays differ: each section says which date its today is.
    assert 'Today there: <time datetime="2031-01-16">Thursday 16 January</time>' in akl
    assert 'Today there: <time datetime="2031-01-15">Wednesday 15 January</time>' in la


def test_the_day_tabs_start_after_the_earliest_today_and_mean_each_theatres_date(far_shows):  # type: ignore[no-untyped-def]
    tabs = _tabs(_home())
    assert tabs[0] == ("/", "Today", True)
    assert [href for href, _, _ in tabs[1:]] == [
        f"/?date={date(2031, 1, 15) + timedelta(days=i):%Y-%m-%d}" for i in range(1, 7)
    ]
    html = _home("?date=2031-01-16")
    assert "<h1>Shows on Thursday 16 January 2031</h1>" in html
    assert ("/?date=2031-01-16", "Thu 16 Jan", True) in _tabs(html)
    assert ("/", "Today", False) in _tabs(html)
    # The 16th at each theatre: Auckland's today and Los Angeles' tomorrow.
    assert f"/shows/{far_shows['akl', 16].pk}/" in _section(html, "Auckland Civic")
    assert f"/shows/{far_shows['la', 16].pk}/" in _section(html, "LA Palace")
    assert "Today there" not in html


def test_one_zone_far_from_utc_its_today_is_today(make_showtime, movie):  # type: ignore[no-untyped-def]
    screen = _screen("Auckland Civic", "Pacific/Auckland")
    # 11:00 UTC on 15 January is 00:00 on the 16th in Auckland: the UTC date is its yesterday.
    now = datetime(2031, 1, 15, 11, 0, tzinfo=UTC)
    tonight = make_showtime(starts_at=datetime(2031, 1, 16, 19, 0, tzinfo=AUCKLAND), screen=screen)
    tomorrow = make_showtime(starts_at=datetime(2031, 1, 17, 19, 0, tzinfo=AUCKLAND), screen=screen)
    html = _home(now=now)
    assert f"/shows/{tonight.pk}/" in html
    assert f"/shows/{tomorrow.pk}/" not in html
    assert "Today there" not in html  # one theatre: nothing to tell apart
    tabs = _tabs(html)
    assert tabs[1] == ("/?date=2031-01-17", "Fri 17 Jan", False)
    # Today's date typed in is the same page as "Today".
    assert _tabs(_home("?date=2031-01-16", now=now))[0] == ("/", "Today", True)
    assert ("/?date=2031-01-17", "Fri 17 Jan", True) in _tabs(_home("?date=2031-01-17", now=now))


def test_over_http_now_two_theatres_25_hours_apart_each_list_their_own_today(make_showtime, movie):  # type: ignore[no-untyped-def]
    """On the real clock, through the URL: Kiritimati (UTC+14) and Pago Pago (UTC-11) never
    share a date, so at least one of them differs from the UTC date whenever this runs."""
    zones = (("Kiritimati", "Pacific/Kiritimati"), ("Pago Pago", "Pacific/Pago_Pago"))
    for _, tz in zones:
        local = timezone.now().astimezone(zoneinfo.ZoneInfo(tz))
        if local.hour == 23 and local.minute >= 50:
            pytest.skip(f"too close to midnight in {tz} for a show later today")
    shows = {}
    for name, tz in zones:
        screen = _screen(name, tz)
        local_today = timezone.now().astimezone(zoneinfo.ZoneInfo(tz)).date()
        for offset in (0, 1):
            starts = datetime.combine(
                local_today + timedelta(days=offset), datetime.min.time(), zoneinfo.ZoneInfo(tz)
            ) + timedelta(hours=23, minutes=59)
            shows[name, offset] = make_showtime(starts_at=starts, screen=screen)
    html = Client().get("/").content.decode()
    for name in ("Kiritimati", "Pago Pago"):
        section = _section(html, name)
        assert f"/shows/{shows[name, 0].pk}/" in section, name
        assert f"/shows/{shows[name, 1].pk}/" not in section, name

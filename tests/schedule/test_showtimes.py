"""Showtimes: ends_at from the duration, the no-overlap rule with the cleaning gap, the past,
and the ?date= filter meaning the theater's own local date."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from boxoffice.catalog.models import Genre, Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.schedule.models import Showtime, ShowtimeStatus
from boxoffice.schedule.services import create_showtime
from tests.conftest import future

pytestmark = pytest.mark.django_db

URL = "/api/v1/showtimes/"


def post_show(client, movie, screen, starts_at: datetime, **extra):
    data = {
        "movie": movie.id,
        "screen": screen.id,
        "starts_at": starts_at.isoformat(),
        "base_price": "12.50",
        **extra,
    }
    return client.post(URL, data, format="json")


def assert_overlap_refused(response) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == "starts_at"


# --- Creating -----------------------------------------------------------------------------------


def test_admin_schedules_a_show_and_ends_at_comes_from_the_duration(admin_api, movie, screen):
    starts = future(days=2, hour=18)
    response = post_show(admin_api, movie, screen, starts)
    assert response.status_code == 201, response.content
    body = response.json()
    assert parse_datetime(body["starts_at"]) == starts
    assert parse_datetime(body["ends_at"]) == starts + timedelta(minutes=120)
    assert body["theater"] == {
        "id": screen.theater.id,
        "name": "Odeon",
        "timezone": "Europe/Berlin",
    }
    assert body["base_price"] == "12.50"
    assert body["currency"] == "usd"
    # timestamps carry an offset
    assert body["starts_at"].endswith(("Z", "+00:00")) or "+" in body["starts_at"][-6:]
    show = Showtime.objects.get(pk=body["id"])
    assert show.ends_at == starts + timedelta(minutes=120)


def test_create_response_counts_the_seats_available(admin_api, api, movie, screen):
    response = post_show(admin_api, movie, screen, future(days=2, hour=18))
    assert api.get(f"{URL}{response.json()['id']}/").json()["seats_available"] == 20
    assert response.json()["seats_available"] == 20


def test_ends_at_is_read_only(admin_api, movie, screen):
    starts = future(days=2, hour=18)
    response = post_show(
        admin_api, movie, screen, starts, ends_at=(starts + timedelta(hours=9)).isoformat()
    )
    assert response.status_code == 201
    assert parse_datetime(response.json()["ends_at"]) == starts + timedelta(minutes=120)


def test_start_with_an_offset_is_understood(admin_api, movie, screen):
    day = future(days=3).date()
    response = admin_api.post(
        URL,
        {
            "movie": movie.id,
            "screen": screen.id,
            "starts_at": f"{day.isoformat()}T18:30:00+01:00",
            "base_price": "9.00",
            "currency": "EUR",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    show = Showtime.objects.get(pk=response.json()["id"])
    assert show.starts_at == datetime(
        day.year, day.month, day.day, 17, 30, tzinfo=zoneinfo.ZoneInfo("UTC")
    )
    assert show.currency == "eur"
    assert response.json()["currency"] == "eur"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_price", "-1.00"),
        ("base_price", "1.234"),
        ("base_price", "abc"),
        ("currency", "dollars"),
        ("currency", "u1d"),
        ("movie", 999999),
        ("screen", 999999),
        ("starts_at", "tomorrow evening"),
    ],
)
def test_bad_input_is_400(admin_api, movie, screen, field, value):
    data = {
        "movie": movie.id,
        "screen": screen.id,
        "starts_at": future(days=2).isoformat(),
        "base_price": "10.00",
        field: value,
    }
    response = admin_api.post(URL, data, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == field
    assert not Showtime.objects.exists()


def test_customer_and_anonymous_cannot_schedule(api, customer_api, movie, screen):
    assert post_show(customer_api, movie, screen, future(days=2)).status_code == 403
    assert post_show(api, movie, screen, future(days=2)).status_code == 401
    assert not Showtime.objects.exists()


def test_past_show_is_refused(admin_api, movie, screen):
    response = post_show(admin_api, movie, screen, timezone.now() - timedelta(minutes=5))
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "starts_at"
    assert not Showtime.objects.exists()


# --- The no-overlap rule ------------------------------------------------------------------------
# The fixture movie runs 120 minutes and the screen keeps 15 minutes free after each show, so a
# show at 19:00 blocks the screen from 19:00 until 21:15.


@pytest.mark.parametrize(
    "offset_minutes",
    [
        0,  # the same start
        60,  # starts during the show
        134,  # starts during the cleaning gap (21:14)
        -134,  # ends (plus its own gap) inside ours: 16:46 -> 18:46, clean until 19:01
        -30,  # starts before, runs into it
    ],
)
def test_overlapping_show_is_refused(admin_api, make_showtime, movie, screen, offset_minutes):
    first = make_showtime(future(days=2, hour=19))
    response = post_show(
        admin_api, movie, screen, first.starts_at + timedelta(minutes=offset_minutes)
    )
    assert_overlap_refused(response)
    assert Showtime.objects.count() == 1


def test_show_containing_another_is_refused(admin_api, make_showtime, screen):
    short = Movie.objects.create(title="Short", duration_minutes=20)
    long = Movie.objects.create(title="Long", duration_minutes=300)
    inner = make_showtime(future(days=2, hour=19), movie=short)
    response = post_show(admin_api, long, screen, inner.starts_at - timedelta(hours=2))
    assert_overlap_refused(response)


def test_back_to_back_exactly_at_the_cleaning_gap_is_allowed(
    admin_api, make_showtime, movie, screen
):
    first = make_showtime(future(days=2, hour=19))
    after = post_show(admin_api, movie, screen, first.starts_at + timedelta(minutes=135))
    assert after.status_code == 201, after.content
    # and just before: ends at 16:45, cleaned by 19:00 sharp
    before = post_show(admin_api, movie, screen, first.starts_at - timedelta(minutes=135))
    assert before.status_code == 201, before.content
    assert Showtime.objects.count() == 3


def test_cleaning_gap_is_the_screens_own(admin_api, make_showtime, movie, theater):
    slow = Screen.objects.create(theater=theater, name="Slow", cleaning_minutes=45)
    first = make_showtime(future(days=2, hour=14), screen=slow)
    too_soon = post_show(admin_api, movie, slow, first.starts_at + timedelta(minutes=120 + 44))
    assert_overlap_refused(too_soon)
    ok = post_show(admin_api, movie, slow, first.starts_at + timedelta(minutes=120 + 45))
    assert ok.status_code == 201, ok.content


def test_same_time_on_another_screen_is_allowed(admin_api, make_showtime, movie, theater):
    first = make_showtime(future(days=2, hour=19))
    other = Screen.objects.create(theater=theater, name="Screen 2")
    assert post_show(admin_api, movie, other, first.starts_at).status_code == 201


def test_a_cancelled_show_does_not_block_the_screen(admin_api, make_showtime, movie, screen):
    first = make_showtime(future(days=2, hour=19))
    Showtime.objects.filter(pk=first.pk).update(status=ShowtimeStatus.CANCELLED)
    assert post_show(admin_api, movie, screen, first.starts_at).status_code == 201


def test_moving_a_show_onto_another_is_refused(admin_api, make_showtime):
    first = make_showtime(future(days=2, hour=14))
    second = make_showtime(future(days=2, hour=19))
    response = admin_api.patch(
        f"{URL}{second.id}/",
        {"starts_at": (first.starts_at + timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert_overlap_refused(response)
    second.refresh_from_db()
    assert second.starts_at == future(days=2, hour=19)


def test_moving_a_show_a_little_does_not_clash_with_itself(admin_api, make_showtime):
    show = make_showtime(future(days=2, hour=19))
    new_start = show.starts_at + timedelta(minutes=30)
    response = admin_api.patch(
        f"{URL}{show.id}/", {"starts_at": new_start.isoformat()}, format="json"
    )
    assert response.status_code == 200, response.content
    assert parse_datetime(response.json()["ends_at"]) == new_start + timedelta(minutes=120)


def test_moving_a_show_into_the_past_is_refused(admin_api, make_showtime):
    show = make_showtime(future(days=2, hour=19))
    response = admin_api.patch(
        f"{URL}{show.id}/",
        {"starts_at": (timezone.now() - timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    show.refresh_from_db()
    assert show.starts_at == future(days=2, hour=19)


def test_changing_the_movie_recomputes_ends_at_and_rechecks(admin_api, make_showtime, screen):
    first = make_showtime(future(days=2, hour=14))
    make_showtime(first.starts_at + timedelta(minutes=135))
    epic = Movie.objects.create(title="Epic", duration_minutes=200)
    response = admin_api.patch(f"{URL}{first.id}/", {"movie": epic.id}, format="json")
    assert_overlap_refused(response)
    first.refresh_from_db()
    assert first.movie.title == "Metropolis"


def test_admin_deletes_a_show_without_bookings(admin_api, customer_api, showtime):
    assert customer_api.delete(f"{URL}{showtime.id}/").status_code == 403
    assert admin_api.delete(f"{URL}{showtime.id}/").status_code == 204
    assert not Showtime.objects.exists()


# --- Reading and filters ------------------------------------------------------------------------


@pytest.fixture
def two_time_zones(db):
    """Berlin and Los Angeles, a short movie, and shows around local midnight of DAY."""
    short = Movie.objects.create(title="Short Cuts", duration_minutes=30)
    short.genres.add(Genre.objects.create(name="Comedy", slug="comedy"))
    berlin = Theater.objects.create(name="Berlin", timezone="Europe/Berlin")
    la = Theater.objects.create(name="LA", timezone="America/Los_Angeles")
    b_screen = Screen.objects.create(theater=berlin, name="B1")
    l_screen = Screen.objects.create(theater=la, name="L1")
    generate_seat_grid(screen=b_screen, rows=1, seats_per_row=3)
    generate_seat_grid(screen=l_screen, rows=2, seats_per_row=3)
    day = (timezone.now() + timedelta(days=4)).date()

    def at(screen: Screen, d: date, hh: int, mm: int) -> Showtime:
        tz = zoneinfo.ZoneInfo(screen.theater.timezone)
        return create_showtime(
            movie=short,
            screen=screen,
            starts_at=datetime.combine(d, time(hh, mm), tzinfo=tz),
            base_price=Decimal("8.00"),
        )

    prev, nxt = day - timedelta(days=1), day + timedelta(days=1)
    shows = {
        "berlin_prev_2330": at(b_screen, prev, 23, 30),  # UTC: prev 21:30/22:30
        "berlin_day_0030": at(b_screen, day, 0, 30),  # UTC: prev 22:30/23:30 (local: day)
        "berlin_day_2330": at(b_screen, day, 23, 30),
        "la_prev_2330": at(l_screen, prev, 23, 30),  # UTC: day 06:30/07:30 (local: prev)
        "la_day_0030": at(l_screen, day, 0, 30),  # UTC: day 07:30/08:30
        "la_day_2330": at(l_screen, day, 23, 30),  # UTC: next 06:30/07:30 (local: day)
        "la_next_0030": at(l_screen, nxt, 0, 30),
    }
    return {"day": day, "movie": short, "berlin": berlin, "la": la, **shows}


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_date_filter_uses_each_theaters_local_date(api, two_time_zones):
    z = two_time_zones
    day = z["day"]
    expected = {
        z["berlin_day_0030"].id,
        z["berlin_day_2330"].id,
        z["la_day_0030"].id,
        z["la_day_2330"].id,
    }
    assert ids(api.get(f"{URL}?date={day.isoformat()}")) == expected

    prev = (day - timedelta(days=1)).isoformat()
    assert ids(api.get(f"{URL}?date={prev}")) == {z["berlin_prev_2330"].id, z["la_prev_2330"].id}
    nxt = (day + timedelta(days=1)).isoformat()
    assert ids(api.get(f"{URL}?date={nxt}")) == {z["la_next_0030"].id}


def test_date_filter_combines_with_theater_and_movie(api, two_time_zones, make_showtime):
    z = two_time_zones
    day = z["day"].isoformat()
    assert ids(api.get(f"{URL}?date={day}&theater={z['la'].id}")) == {
        z["la_day_0030"].id,
        z["la_day_2330"].id,
    }
    assert ids(api.get(f"{URL}?theater={z['berlin'].id}")) == {
        z["berlin_prev_2330"].id,
        z["berlin_day_0030"].id,
        z["berlin_day_2330"].id,
    }
    other = make_showtime(future(days=2))  # Metropolis on the Odeon screen
    assert ids(api.get(f"{URL}?movie={other.movie_id}")) == {other.id}
    assert len(ids(api.get(f"{URL}?movie={z['movie'].id}"))) == 7
    assert ids(api.get(f"{URL}?movie={z['movie'].id}&date={day}&theater={z['berlin'].id}")) == {
        z["berlin_day_0030"].id,
        z["berlin_day_2330"].id,
    }


def test_showtime_rows_show_theater_and_seats_available(api, two_time_zones):
    z = two_time_zones
    row = api.get(f"{URL}{z['la_day_0030'].id}/").json()
    assert row["theater"]["id"] == z["la"].id
    assert row["seats_available"] == 6
    assert row["base_price"] == "8.00"
    assert parse_datetime(row["ends_at"]) - parse_datetime(row["starts_at"]) == timedelta(
        minutes=30
    )


def test_list_is_in_start_order(api, two_time_zones):
    rows = api.get(f"{URL}?page_size=100").json()["results"]
    starts = [parse_datetime(r["starts_at"]) for r in rows]
    assert starts == sorted(starts)
    assert len(rows) == 7


def test_movie_showtimes_endpoint_lists_one_movies_shows_for_a_local_day(
    api, two_time_zones, make_showtime
):
    z = two_time_zones
    make_showtime(
        datetime.combine(z["day"], time(15, 0), tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    )
    day = z["day"].isoformat()
    response = api.get(f"/api/v1/movies/{z['movie'].id}/showtimes/?date={day}")
    assert ids(response) == {
        z["berlin_day_0030"].id,
        z["berlin_day_2330"].id,
        z["la_day_0030"].id,
        z["la_day_2330"].id,
    }
    assert len(ids(api.get(f"/api/v1/movies/{z['movie'].id}/showtimes/"))) == 7


def test_movie_showtimes_of_unknown_movie_is_404(api):
    response = api.get("/api/v1/movies/999999/showtimes/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_movies_filter_by_local_date(api, two_time_zones, make_showtime, movie):
    z = two_time_zones
    # Metropolis plays on DAY+2 only (Odeon, Berlin)
    later = z["day"] + timedelta(days=2)
    make_showtime(datetime.combine(later, time(20, 0), tzinfo=zoneinfo.ZoneInfo("Europe/Berlin")))

    def titles(query: str) -> list[str]:
        response = api.get(f"/api/v1/movies/?{query}")
        assert response.status_code == 200, response.content
        return [row["title"] for row in response.json()["results"]]

    assert titles(f"date={z['day'].isoformat()}") == ["Short Cuts"]
    assert titles(f"date={later.isoformat()}") == ["Metropolis"]
    assert titles(f"date={(later + timedelta(days=1)).isoformat()}") == []
    # one movie with many shows that day is listed once
    assert len(titles(f"date={z['day'].isoformat()}")) == 1


def test_movies_date_filter_ignores_cancelled_shows(api, make_showtime, movie):
    show = make_showtime(future(days=3, hour=20))
    day = future(days=3, hour=20).date().isoformat()
    assert api.get(f"/api/v1/movies/?date={day}").json()["count"] == 1
    Showtime.objects.filter(pk=show.pk).update(status=ShowtimeStatus.CANCELLED)
    assert api.get(f"/api/v1/movies/?date={day}").json()["count"] == 0


def test_movies_filter_by_genre_and_search(api, db):
    drama = Genre.objects.create(name="Drama", slug="drama")
    scifi = Genre.objects.create(name="Science Fiction", slug="science-fiction")
    metropolis = Movie.objects.create(
        title="Metropolis", duration_minutes=150, description="A city of the future."
    )
    metropolis.genres.add(drama, scifi)
    solaris = Movie.objects.create(
        title="Solaris", duration_minutes=167, description="An ocean planet."
    )
    solaris.genres.add(scifi)
    Movie.objects.create(title="Ordet", duration_minutes=126).genres.add(drama)

    def titles(query: str) -> list[str]:
        response = api.get(f"/api/v1/movies/?{query}")
        assert response.status_code == 200, response.content
        return [row["title"] for row in response.json()["results"]]

    assert titles("genre=science-fiction") == ["Metropolis", "Solaris"]
    assert titles("genre=drama") == ["Metropolis", "Ordet"]
    assert titles("genre=western") == []
    assert titles("search=soLAR") == ["Solaris"]  # title, case-insensitive
    assert titles("search=ocean") == ["Solaris"]  # description
    assert titles("search=metropolis&genre=drama") == ["Metropolis"]
    assert titles("search=ordet&genre=science-fiction") == []


def test_a_currency_without_cents_takes_whole_prices_only(admin_api, movie, screen):
    """Zero-decimal currencies (Stripe's list) are prices in whole units: 1200 JPY is a show,
    1200.50 JPY is refused naming the rule (tests/payments/test_currencies.py has the rest)."""

    def post(price: str, hour: int):  # type: ignore[no-untyped-def]
        return admin_api.post(
            URL,
            {
                "movie": movie.id,
                "screen": screen.id,
                "starts_at": future(days=3, hour=hour).isoformat(),
                "base_price": price,
                "currency": "JPY",
            },
            format="json",
        )

    refused = post("1200.50", 12)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "base_price"
    assert "whole number for JPY" in refused.json()["errors"][0]["detail"]
    accepted = post("1200.00", 18)
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["currency"] == "jpy"

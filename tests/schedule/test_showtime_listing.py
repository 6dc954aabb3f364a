"""Showtimes as a front end lists them: the movie and theater embedded, ``status``, ``?from=`` /
``?to=`` local date ranges, malformed filters refused, a fixed number of queries per page, and
caching headers (public for everyone's reads, ETag and 304)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from boxoffice.catalog.models import Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.schedule.models import Showtime
from boxoffice.schedule.services import create_showtime
from tests.conftest import future

pytestmark = pytest.mark.django_db

URL = "/api/v1/showtimes/"


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- The read shape -----------------------------------------------------------------------------


def test_a_listed_show_embeds_its_movie_and_theater(api, showtime):
    row = api.get(URL).json()["results"][0]
    assert row["movie"] == {
        "id": showtime.movie_id,
        "title": "Metropolis",
        "duration_minutes": 120,
        "age_rating": showtime.movie.age_rating,
        "poster": None,
    }
    assert row["theater"] == {
        "id": showtime.screen.theater_id,
        "name": "Odeon",
        "timezone": "Europe/Berlin",
    }
    assert row["screen"] == showtime.screen_id
    assert row["status"] == "scheduled"
    assert {"starts_at", "ends_at", "base_price", "currency", "seats_available"} <= set(row)
    assert api.get(f"{URL}{showtime.pk}/").json() == row


def test_one_movies_showtimes_read_the_same(api, showtime):
    body = api.get(f"/api/v1/movies/{showtime.movie_id}/showtimes/").json()
    assert body["results"] == api.get(URL).json()["results"]
    assert body["results"][0]["movie"]["title"] == "Metropolis"


def test_the_poster_reads_as_an_absolute_url(api, showtime):
    Movie.objects.filter(pk=showtime.movie_id).update(poster="posters/metropolis.png")
    poster = api.get(URL).json()["results"][0]["movie"]["poster"]
    assert poster == "http://testserver/media/posters/metropolis.png"


def test_writes_take_ids_and_answer_the_read_shape(admin_api, movie, screen):
    starts = future(days=3, hour=20)
    response = admin_api.post(
        URL,
        {
            "movie": movie.id,
            "screen": screen.id,
            "starts_at": starts.isoformat(),
            "base_price": "12.50",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["movie"]["id"] == movie.id
    assert body["theater"]["name"] == "Odeon"
    assert body["status"] == "scheduled"

    patched = admin_api.patch(f"{URL}{body['id']}/", {"base_price": "13.00"}, format="json")
    assert patched.status_code == 200, patched.content
    assert patched.json()["movie"]["title"] == "Metropolis"

    cancelled = admin_api.post(f"{URL}{body['id']}/cancel/", {"reason": "Flood"}, format="json")
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["theater"]["timezone"] == "Europe/Berlin"


def test_the_schema_shows_objects_on_read_and_ids_on_write(api):
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        if "allOf" in node and len(node["allOf"]) == 1:
            return resolve(node["allOf"][0])
        return node

    def response_item(path: str, method: str = "get", status: str = "200") -> dict:
        content = schema["paths"][path][method]["responses"][status]["content"]
        node = resolve(content["application/json"]["schema"])
        if "results" in node.get("properties", {}):
            node = resolve(node["properties"]["results"]["items"])
        return node

    for path, method, status in [
        ("/api/v1/showtimes/", "get", "200"),
        ("/api/v1/showtimes/{id}/", "get", "200"),
        ("/api/v1/showtimes/", "post", "201"),
        ("/api/v1/showtimes/{id}/", "patch", "200"),
        ("/api/v1/showtimes/{id}/cancel/", "post", "200"),
        ("/api/v1/movies/{movie_id}/showtimes/", "get", "200"),
    ]:
        props = response_item(path, method, status)["properties"]
        movie = resolve(props["movie"])
        theater = resolve(props["theater"])
        assert set(movie["properties"]) == {
            "id",
            "title",
            "duration_minutes",
            "age_rating",
            "poster",
        }, (path, method)
        assert set(theater["properties"]) == {"id", "name", "timezone"}, (path, method)
        assert "status" in props

    body = schema["paths"]["/api/v1/showtimes/"]["post"]["requestBody"]["content"]
    request = resolve(body["application/json"]["schema"])
    assert request["properties"]["movie"]["type"] == "integer"
    assert "theater" not in request["properties"]


def test_the_schema_documents_from_and_to(api):
    schema = api.get("/api/schema/?format=json").json()
    for path in ["/api/v1/showtimes/", "/api/v1/movies/{movie_id}/showtimes/"]:
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for name in ("from", "to", "date"):
            assert params[name]["schema"]["format"] == "date", (path, name)


# --- Filters -----------------------------------------------------------------------------------


@pytest.fixture
def zones(db):
    """Berlin and Los Angeles, shows around local midnight on DAY-1 .. DAY+2."""
    short = Movie.objects.create(title="Short Cuts", duration_minutes=30)
    berlin = Theater.objects.create(name="Berlin", timezone="Europe/Berlin")
    la = Theater.objects.create(name="LA", timezone="America/Los_Angeles")
    screens = {}
    for theater in (berlin, la):
        screens[theater.name] = Screen.objects.create(theater=theater, name="1")
        generate_seat_grid(screen=screens[theater.name], rows=1, seats_per_row=3)
    day = (timezone.now() + timedelta(days=5)).date()

    def at(name: str, d: date, hh: int, mm: int = 30) -> Showtime:
        tz = zoneinfo.ZoneInfo(screens[name].theater.timezone)
        return create_showtime(
            movie=short,
            screen=screens[name],
            starts_at=datetime.combine(d, time(hh, mm), tzinfo=tz),
            base_price="8.00",
        )

    shows = {}
    for offset in (-1, 0, 1, 2):
        d = day + timedelta(days=offset)
        for name in ("Berlin", "LA"):
            shows[(name, offset, "early")] = at(name, d, 0)
            shows[(name, offset, "late")] = at(name, d, 23)
    return {"day": day, "shows": shows, "berlin": berlin, "la": la}


def _local_days(shows: dict, first: int, last: int) -> set[int]:
    return {show.pk for (_, offset, _), show in shows.items() if first <= offset <= last}


def test_from_and_to_are_local_dates_inclusive(api, zones):
    day, shows = zones["day"], zones["shows"]
    got = ids(api.get(f"{URL}?from={day}&to={day + timedelta(days=1)}&page_size=100"))
    assert set(got) == _local_days(shows, 0, 1)
    assert len(got) == 8

    # One end open.
    assert set(ids(api.get(f"{URL}?from={day + timedelta(days=1)}&page_size=100"))) == (
        _local_days(shows, 1, 2)
    )
    assert set(ids(api.get(f"{URL}?to={day - timedelta(days=1)}&page_size=100"))) == (
        _local_days(shows, -1, -1)
    )
    # A single day equals ?date=.
    one = f"{day + timedelta(days=2)}"
    assert set(ids(api.get(f"{URL}?from={one}&to={one}"))) == set(ids(api.get(f"{URL}?date={one}")))
    # An empty range is an empty list, not an error.
    assert ids(api.get(f"{URL}?from={day}&to={day - timedelta(days=1)}")) == []


def test_ranges_combine_with_theater_and_are_ordered_by_start(api, zones):
    day, shows = zones["day"], zones["shows"]
    got = ids(api.get(f"{URL}?from={day}&to={day}&theater={zones['la'].id}"))
    assert got == [shows[("LA", 0, "early")].pk, shows[("LA", 0, "late")].pk]

    rows = api.get(f"{URL}?from={day - timedelta(days=1)}&page_size=100").json()["results"]
    starts = [row["starts_at"] for row in rows]
    assert [datetime.fromisoformat(s) for s in starts] == sorted(
        datetime.fromisoformat(s) for s in starts
    )


def test_the_movies_showtimes_take_the_same_filters(api, zones):
    day, shows = zones["day"], zones["shows"]
    movie_id = shows[("LA", 0, "early")].movie_id
    url = f"/api/v1/movies/{movie_id}/showtimes/?from={day}&to={day}&page_size=100"
    assert set(ids(api.get(url))) == _local_days(shows, 0, 0)


def test_far_dates_do_not_overflow(api, zones):
    assert len(ids(api.get(f"{URL}?from=0001-01-01&to=9999-12-31&page_size=100"))) == 16
    assert ids(api.get(f"{URL}?from=9999-12-31")) == []
    assert ids(api.get(f"{URL}?to=0001-01-01")) == []


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-01-01&to=soon", "to"),
        ("date=tomorrow", "date"),
        ("theater=abc", "theater"),
        ("movie=abc", "movie"),
        ("theater=0", "theater"),
    ],
)
def test_a_malformed_filter_is_a_400_naming_it(api, showtime, query, attr):
    response = api.get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    assert [error["attr"] for error in response.json()["errors"]] == [attr]
    movie_url = f"/api/v1/movies/{showtime.movie_id}/showtimes/?{query}"
    assert api.get(movie_url).status_code == 400


# --- Query counts ------------------------------------------------------------------------------


@pytest.fixture
def _local_memory_cache(settings):  # type: ignore[no-untyped-def]
    """The throttle's counters live in the cache; in local memory they cost no query."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield
    cache.clear()


@pytest.mark.usefixtures("_local_memory_cache")
@pytest.mark.parametrize(
    "query",
    ["", "&date={day}", "&from={day}&to={last}", "&theater={theater}&movie={movie}"],
    ids=["plain", "date", "from-to", "theater-movie"],
)
def test_a_page_of_showtimes_is_a_fixed_number_of_queries(api, movie, screen, query):
    first = future(days=2, hour=0)
    # 50 shows, 3 hours apart (120 minutes and the cleaning gap fit between them).
    for n in range(50):
        create_showtime(
            movie=movie, screen=screen, starts_at=first + timedelta(hours=3 * n), base_price="9.00"
        )
    query = query.format(
        day=first.date(),
        last=(first + timedelta(days=10)).date(),
        theater=screen.theater_id,
        movie=movie.id,
    )
    counts = {}
    for size in (1, 50):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"{URL}?page_size={size}{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["results"]) == min(size, body["count"])
        assert body["count"] > 1
        counts[size] = len(queries)
    assert counts[1] == counts[50], counts
    assert counts[50] <= 4, counts


@pytest.mark.usefixtures("_local_memory_cache")
def test_one_movies_showtimes_are_a_fixed_number_of_queries(api, movie, screen):
    first = future(days=2, hour=0)
    for n in range(20):
        create_showtime(
            movie=movie, screen=screen, starts_at=first + timedelta(hours=3 * n), base_price="9.00"
        )
    counts = []
    for size in (1, 20):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/v1/movies/{movie.id}/showtimes/?page_size={size}")
        assert len(response.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- Caching headers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/showtimes/",
        "/api/v1/showtimes/{show}/",
        "/api/v1/movies/{movie}/showtimes/",
        "/api/v1/movies/",
        "/api/v1/movies/{movie}/",
        "/api/v1/genres/",
        "/api/v1/theaters/",
        "/api/v1/screens/",
        "/api/v1/screens/{screen}/seats/",
    ],
)
def test_public_reads_are_cacheable_with_an_etag(api, customer_api, showtime, path):
    url = path.format(show=showtime.pk, movie=showtime.movie_id, screen=showtime.screen_id)
    response = api.get(url)
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=30"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}
    etag = response["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')

    again = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert api.get(url, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200

    # A signed-in reader (an admin reading back a write) is never served a stored copy.
    signed_in = customer_api.get(url)
    assert signed_in.status_code == 200
    assert signed_in["Cache-Control"] == "private, no-cache"


def test_the_etag_changes_with_the_answer(api, admin_api, showtime):
    url = f"{URL}{showtime.pk}/"
    etag = api.get(url)["ETag"]
    assert admin_api.patch(url, {"base_price": "11.00"}, format="json").status_code == 200
    changed = api.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_writes_and_errors_carry_no_cache_headers(api, admin_api, showtime):
    assert "ETag" not in api.get(f"{URL}999999/")
    assert "public" not in api.get(f"{URL}?from=nope").get("Cache-Control", "")
    response = admin_api.patch(f"{URL}{showtime.pk}/", {"base_price": "11.00"}, format="json")
    assert "public" not in response.get("Cache-Control", "")
    assert "ETag" not in response


def test_date_is_exposed_to_cross_origin_readers(api, settings, showtime):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = api.get(URL, HTTP_ORIGIN="https://app.example.com")
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert "date" in exposed

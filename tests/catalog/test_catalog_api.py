"""Genres, movies, theaters and screens: anyone reads, only admins write."""

from __future__ import annotations

import pytest

from boxoffice.catalog.models import Genre, Movie, Screen, Theater

pytestmark = pytest.mark.django_db


# --- Reading ------------------------------------------------------------------------------------


def test_anonymous_reads_the_catalog(api, movie, screen):
    genres = api.get("/api/v1/genres/")
    assert genres.status_code == 200
    assert genres.json()["results"] == [
        {"id": movie.genres.get().id, "name": "Drama", "slug": "drama"}
    ]

    movies = api.get("/api/v1/movies/").json()
    assert movies["count"] == 1
    row = movies["results"][0]
    assert set(row) == {
        "id",
        "title",
        "description",
        "duration_minutes",
        "genres",
        "poster",
        "age_rating",
        "release_date",
    }
    assert row["genres"] == [{"id": movie.genres.get().id, "name": "Drama", "slug": "drama"}]
    assert row["poster"] is None

    detail = api.get(f"/api/v1/movies/{movie.id}/").json()
    assert detail["title"] == "Metropolis"
    assert detail["duration_minutes"] == 120

    theaters = api.get("/api/v1/theaters/").json()["results"]
    assert theaters == [
        {
            "id": screen.theater.id,
            "name": "Odeon",
            "address": "1 Main St",
            "timezone": "Europe/Berlin",
            "currency": "usd",
        }
    ]

    screens = api.get("/api/v1/screens/").json()["results"]
    assert screens == [
        {
            "id": screen.id,
            "theater": screen.theater.id,
            "name": "Screen 1",
            "cleaning_minutes": 15,
            "capacity": 20,
            "single_seat_rule": False,  # the fixture's screen (tests/conftest.py)
            "sweet_spot_column_percent": 50,
            "sweet_spot_row_percent": 67,
        }
    ]
    assert api.get(f"/api/v1/screens/{screen.id}/").json()["capacity"] == 20


def test_lists_are_paginated(api, movie):
    body = api.get("/api/v1/movies/").json()
    assert set(body) == {"count", "next", "previous", "results"}


# --- Permissions on writes ----------------------------------------------------------------------

WRITES = [
    ("/api/v1/genres/", {"name": "Horror", "slug": "horror"}),
    ("/api/v1/movies/", {"title": "Nosferatu", "duration_minutes": 94}),
    ("/api/v1/theaters/", {"name": "Rex", "timezone": "Europe/Paris"}),
]


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_customer_cannot_create(customer_api, path, data):
    response = customer_api.post(path, data, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "permission_denied"


@pytest.mark.parametrize(("path", "data"), WRITES)
def test_anonymous_cannot_create(api, path, data):
    assert api.post(path, data, format="json").status_code == 401


def test_customer_cannot_change_or_delete(customer_api, movie, screen):
    assert customer_api.patch(f"/api/v1/movies/{movie.id}/", {"title": "X"}).status_code == 403
    assert customer_api.delete(f"/api/v1/movies/{movie.id}/").status_code == 403
    assert customer_api.delete(f"/api/v1/screens/{screen.id}/").status_code == 403
    assert (
        customer_api.post(
            f"/api/v1/screens/{screen.id}/seats/generate/",
            {"rows": 1, "seats_per_row": 1},
            format="json",
        ).status_code
        == 403
    )
    movie.refresh_from_db()
    assert movie.title == "Metropolis"
    assert Screen.objects.filter(pk=screen.pk).exists()
    assert screen.seats.count() == 20


def test_customer_cannot_create_screen(customer_api, theater):
    response = customer_api.post(
        "/api/v1/screens/", {"theater": theater.id, "name": "S"}, format="json"
    )
    assert response.status_code == 403
    assert not Screen.objects.exists()


# --- Admin writes -------------------------------------------------------------------------------


def test_admin_manages_genres(admin_api):
    created = admin_api.post("/api/v1/genres/", {"name": "Horror", "slug": "horror"}, format="json")
    assert created.status_code == 201, created.content
    genre_id = created.json()["id"]
    assert created.json() == {"id": genre_id, "name": "Horror", "slug": "horror"}

    updated = admin_api.patch(f"/api/v1/genres/{genre_id}/", {"name": "Horror!"}, format="json")
    assert updated.status_code == 200
    assert Genre.objects.get(pk=genre_id).name == "Horror!"

    assert admin_api.delete(f"/api/v1/genres/{genre_id}/").status_code == 204
    assert not Genre.objects.filter(pk=genre_id).exists()


def test_genre_slug_must_be_a_unique_slug(admin_api):
    Genre.objects.create(name="Horror", slug="horror")
    dup = admin_api.post("/api/v1/genres/", {"name": "Other", "slug": "horror"}, format="json")
    assert dup.status_code == 400
    assert dup.json()["errors"][0]["attr"] == "slug"
    bad = admin_api.post("/api/v1/genres/", {"name": "Sci fi", "slug": "sci fi!"}, format="json")
    assert bad.status_code == 400


def test_admin_manages_movies_with_genre_ids(admin_api):
    drama = Genre.objects.create(name="Drama", slug="drama")
    comedy = Genre.objects.create(name="Comedy", slug="comedy")
    created = admin_api.post(
        "/api/v1/movies/",
        {
            "title": "Playtime",
            "description": "Tati in Paris.",
            "duration_minutes": 124,
            "genres": [drama.id, comedy.id],
            "age_rating": "G",
            "release_date": "1967-12-16",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert sorted(body["genres"], key=lambda g: g["slug"]) == [
        {"id": comedy.id, "name": "Comedy", "slug": "comedy"},
        {"id": drama.id, "name": "Drama", "slug": "drama"},
    ]
    assert body["release_date"] == "1967-12-16"
    movie = Movie.objects.get(pk=body["id"])
    assert set(movie.genres.all()) == {drama, comedy}

    replaced = admin_api.put(
        f"/api/v1/movies/{movie.id}/",
        {"title": "Playtime (restored)", "duration_minutes": 119, "genres": [comedy.id]},
        format="json",
    )
    assert replaced.status_code == 200, replaced.content
    movie.refresh_from_db()
    assert movie.title == "Playtime (restored)"
    assert movie.duration_minutes == 119
    assert list(movie.genres.all()) == [comedy]

    assert admin_api.delete(f"/api/v1/movies/{movie.id}/").status_code == 204
    assert not Movie.objects.filter(pk=movie.id).exists()


@pytest.mark.parametrize("minutes", [0, -5, 601, "ninety"])
def test_movie_duration_is_validated(admin_api, minutes):
    response = admin_api.post(
        "/api/v1/movies/", {"title": "Bad", "duration_minutes": minutes}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "duration_minutes"


def test_movie_with_unknown_genre_is_400(admin_api):
    response = admin_api.post(
        "/api/v1/movies/",
        {"title": "Bad", "duration_minutes": 90, "genres": [999999]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"].startswith("genres")


def test_admin_manages_theaters(admin_api):
    created = admin_api.post(
        "/api/v1/theaters/",
        {"name": "Rex", "address": "1 Bd Poissonnière", "timezone": "Europe/Paris"},
        format="json",
    )
    assert created.status_code == 201, created.content
    theater_id = created.json()["id"]
    changed = admin_api.patch(
        f"/api/v1/theaters/{theater_id}/", {"timezone": "America/New_York"}, format="json"
    )
    assert changed.status_code == 200
    assert Theater.objects.get(pk=theater_id).timezone == "America/New_York"
    assert admin_api.delete(f"/api/v1/theaters/{theater_id}/").status_code == 204


@pytest.mark.parametrize(
    "tz", ["Mars/Olympus_Mons", "europe/berlin", "+02:00", "UTC+2", "", "Local"]
)
def test_theater_timezone_must_be_an_iana_name(admin_api, theater, tz):
    response = admin_api.post("/api/v1/theaters/", {"name": "Bad", "timezone": tz}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "timezone"
    changed = admin_api.patch(f"/api/v1/theaters/{theater.id}/", {"timezone": tz}, format="json")
    assert changed.status_code == 400
    theater.refresh_from_db()
    assert theater.timezone == "Europe/Berlin"
    assert Theater.objects.count() == 1


def test_admin_manages_screens(admin_api, theater):
    created = admin_api.post(
        "/api/v1/screens/", {"theater": theater.id, "name": "Big One"}, format="json"
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["cleaning_minutes"] == 15  # the default gap
    assert body["capacity"] == 0  # no seats yet
    screen_id = body["id"]

    changed = admin_api.patch(
        f"/api/v1/screens/{screen_id}/", {"cleaning_minutes": 30}, format="json"
    )
    assert changed.status_code == 200
    assert Screen.objects.get(pk=screen_id).cleaning_minutes == 30

    generated = admin_api.post(
        f"/api/v1/screens/{screen_id}/seats/generate/",
        {"rows": 3, "seats_per_row": 4},
        format="json",
    )
    assert generated.status_code == 201
    assert admin_api.get(f"/api/v1/screens/{screen_id}/").json()["capacity"] == 12

    assert admin_api.delete(f"/api/v1/screens/{screen_id}/").status_code == 204
    assert not Screen.objects.filter(pk=screen_id).exists()


def test_screen_capacity_is_read_only(admin_api, theater):
    created = admin_api.post(
        "/api/v1/screens/", {"theater": theater.id, "name": "S", "capacity": 500}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["capacity"] == 0


def test_screen_names_are_unique_per_theater(admin_api, screen):
    dup = admin_api.post(
        "/api/v1/screens/", {"theater": screen.theater.id, "name": "Screen 1"}, format="json"
    )
    assert dup.status_code == 400
    assert dup.json()["errors"] == [
        {
            "code": "invalid",
            "detail": "This theater already has a screen of that name.",
            "attr": "name",
        }
    ]
    assert Screen.objects.filter(theater=screen.theater).count() == 1
    second = Screen.objects.create(theater=screen.theater, name="Screen 2")
    renamed = admin_api.patch(f"/api/v1/screens/{second.id}/", {"name": "Screen 1"}, format="json")
    assert renamed.status_code == 400
    assert renamed.json()["errors"][0]["attr"] == "name"
    second.refresh_from_db()
    assert second.name == "Screen 2"
    other = Theater.objects.create(name="Rex", timezone="Europe/Paris")
    ok = admin_api.post(
        "/api/v1/screens/", {"theater": other.id, "name": "Screen 1"}, format="json"
    )
    assert ok.status_code == 201


@pytest.mark.parametrize("minutes", [-1, 241, "x"])
def test_screen_cleaning_gap_is_validated(admin_api, theater, minutes):
    response = admin_api.post(
        "/api/v1/screens/",
        {"theater": theater.id, "name": "S", "cleaning_minutes": minutes},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cleaning_minutes"


def test_screens_filter_by_theater(api, screen):
    other = Theater.objects.create(name="Rex", timezone="Europe/Paris")
    Screen.objects.create(theater=other, name="Grand")
    rows = api.get(f"/api/v1/screens/?theater={other.id}").json()["results"]
    assert [r["name"] for r in rows] == ["Grand"]
    rows = api.get(f"/api/v1/screens/?theater={screen.theater.id}").json()["results"]
    assert [r["name"] for r in rows] == ["Screen 1"]

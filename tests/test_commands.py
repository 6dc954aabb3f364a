"""Management commands (seed_demo, create_admin) and the production settings check."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from boxoffice.accounts.models import Role, User
from boxoffice.catalog.models import Genre, Movie, Screen, Seat, Theater
from boxoffice.schedule.models import Showtime
from tests.conftest import make_user
from tests.support.processes import manage

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (User, Genre, Movie, Theater, Screen, Seat, Showtime)
    }


@pytest.fixture
def seeded(capsys, settings) -> dict[str, int]:
    settings.DEBUG = True  # seed_demo refuses to run in production unless forced
    call_command("seed_demo")
    capsys.readouterr()
    return counts()


def test_seed_demo_is_idempotent(seeded, capsys):
    first_posters = dict(Movie.objects.values_list("id", "poster"))
    call_command("seed_demo")
    assert counts() == seeded
    assert dict(Movie.objects.values_list("id", "poster")) == first_posters
    assert "0 new" in capsys.readouterr().out


def test_seed_demo_restores_what_was_removed(seeded):
    Showtime.objects.filter(pk=Showtime.objects.order_by("starts_at").last().pk).delete()
    Movie.objects.filter(title="Row Z").delete()
    call_command("seed_demo")
    assert counts() == seeded


def test_seed_demo_has_two_theaters_in_different_time_zones(seeded):
    zones = set(Theater.objects.values_list("timezone", flat=True))
    assert len(zones) == 2
    assert seeded["Theater"] == 2
    for theater in Theater.objects.all():
        screens = theater.screens.all()
        assert screens.exists()
        for screen in screens:
            tiers = set(screen.seats.values_list("tier", flat=True))
            assert "standard" in tiers
            assert tiers & {"vip", "premium"}, f"{screen} has no tiered rows"


def test_seed_demo_has_about_eight_movies_with_genres_and_real_posters(seeded):
    assert 6 <= seeded["Movie"] <= 12
    for movie in Movie.objects.all():
        assert movie.genres.exists(), movie
        assert movie.poster, movie
        with movie.poster.open("rb") as f, Image.open(f) as image:
            assert image.format == "PNG"
            assert image.width > 50
            assert image.height > 50


def test_seed_demo_schedules_a_week_of_future_shows_that_never_overlap(seeded):
    now = timezone.now()
    shows = list(
        Showtime.objects.select_related("screen", "movie").order_by("screen_id", "starts_at")
    )
    assert len(shows) >= 20
    assert all(s.starts_at > now - timedelta(minutes=5) for s in shows)
    assert all(s.starts_at < now + timedelta(days=8) for s in shows)
    assert all(
        s.ends_at == s.starts_at + timedelta(minutes=s.movie.duration_minutes) for s in shows
    )
    assert len({s.screen_id for s in shows}) == seeded["Screen"]
    for a, b in pairwise(shows):
        if a.screen_id == b.screen_id:
            gap = timedelta(minutes=a.screen.cleaning_minutes)
            assert b.starts_at >= a.ends_at + gap, (a, b)
    # shows land on at least 6 distinct local days per screen
    for screen in Screen.objects.select_related("theater"):
        tz = screen.theater.tzinfo
        days = {s.starts_at.astimezone(tz).date() for s in shows if s.screen_id == screen.id}
        assert len(days) >= 6


def test_seed_demo_logins_work(seeded):
    client = APIClient()
    customer = client.post(
        "/api/v1/auth/login/",
        {"username": "customer", "password": "boxoffice-customer"},
        format="json",
    )
    assert customer.status_code == 200
    assert customer.json()["user"]["role"] == "customer"
    admin = client.post(
        "/api/v1/auth/token/", {"username": "admin", "password": "boxoffice-admin"}, format="json"
    )
    assert admin.status_code == 200
    assert User.objects.get(username="admin").role == Role.ADMIN


def test_seed_demo_shows_today_are_listed_by_local_date(seeded):
    """What the README walks a new user through: list today's showtimes."""
    client = APIClient()
    for theater in Theater.objects.all():
        tomorrow = (timezone.now().astimezone(theater.tzinfo) + timedelta(days=1)).date()
        body = client.get(f"/api/v1/showtimes/?date={tomorrow}&theater={theater.id}").json()
        assert body["count"] >= 4  # every screen has shows every day
        for row in body["results"]:
            assert row["seats_available"] > 0


# --- create_admin -------------------------------------------------------------------------------


ADMIN_ENV = {
    "BOXOFFICE_ADMIN_USERNAME": "boss",
    "BOXOFFICE_ADMIN_EMAIL": "boss@example.com",
    "BOXOFFICE_ADMIN_PASSWORD": "an-unguessable-Passphrase-42",
}


def test_create_admin_from_environment(monkeypatch):
    for name, value in ADMIN_ENV.items():
        monkeypatch.setenv(name, value)
    call_command("create_admin")
    boss = User.objects.get(username="boss")
    assert boss.role == Role.ADMIN
    assert boss.is_staff
    assert boss.is_superuser
    assert boss.email == "boss@example.com"
    token = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "boss", "password": ADMIN_ENV["BOXOFFICE_ADMIN_PASSWORD"]},
        format="json",
    )
    assert token.status_code == 200
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['access']}")
    assert client.get("/api/v1/users/").status_code == 200


def test_create_admin_twice_updates_instead_of_failing(monkeypatch):
    for name, value in ADMIN_ENV.items():
        monkeypatch.setenv(name, value)
    call_command("create_admin")
    monkeypatch.setenv("BOXOFFICE_ADMIN_PASSWORD", "a-different-Passphrase-77")
    call_command("create_admin")
    assert User.objects.filter(username="boss").count() == 1
    assert User.objects.get(username="boss").check_password("a-different-Passphrase-77")


def test_create_admin_promotes_an_existing_user(monkeypatch):
    make_user("boss")
    for name, value in ADMIN_ENV.items():
        monkeypatch.setenv(name, value)
    call_command("create_admin")
    boss = User.objects.get(username="boss")
    assert boss.role == Role.ADMIN
    assert boss.is_superuser


@pytest.mark.parametrize("missing", list(ADMIN_ENV))
def test_create_admin_needs_every_variable(monkeypatch, missing):
    for name, value in ADMIN_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(CommandError, match=missing):
        call_command("create_admin")
    assert not User.objects.exists()


def test_create_admin_refuses_a_weak_password(monkeypatch):
    for name, value in ADMIN_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("BOXOFFICE_ADMIN_PASSWORD", "password")
    with pytest.raises(CommandError):
        call_command("create_admin")
    assert not User.objects.exists()


# --- Production settings ------------------------------------------------------------------------


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="example.com",
        EMAIL_URL="smtp://mail.example.com:587",
        **extra,
    )
    return env


def test_check_deploy_passes_in_production_mode():
    result = manage("check", "--deploy", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output
    assert "no issues" in output


def test_production_mode_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_mode_makes_cookies_secure_and_debug_off():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.JWT_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.REST_FRAMEWORK['DEFAULT_RENDERER_CLASSES'])"
    )
    result = manage("shell", "--no-imports", "-c", code, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:5] == ["False", "True", "True", "True", "True"]
    assert "BrowsableAPIRenderer" not in result.stdout

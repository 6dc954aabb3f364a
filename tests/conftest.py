"""Shared fixtures. The suite runs twice: on SQLite (default) and on PostgreSQL
(DATABASE_URL=postgres://...). Tests marked ``postgres`` need PostgreSQL's guarantees (races,
exclusion constraints): they are deselected on SQLite, and under CI=true the PostgreSQL pass
refuses to run on anything else, so they can never silently skip."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.accounts.models import Role, User
from boxoffice.catalog.models import Genre, Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.schedule.models import Showtime
from boxoffice.schedule.services import create_showtime
from tests.support.auth import PASSWORD
from tests.support.stripe import start_localstripe


def _is_postgres_run() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


def _negative_controls_asked(config) -> bool:  # type: ignore[no-untyped-def]
    return os.environ.get("NEGATIVE_CONTROLS") == "1" or "negative_control" in (
        config.getoption("markexpr", "") or ""
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    """Deselect postgres tests on SQLite, and negative controls (race tests with their guard
    removed, slow and probabilistic) unless asked for with -m negative_control or
    NEGATIVE_CONTROLS=1."""
    postgres = _is_postgres_run()
    controls = _negative_controls_asked(config)
    if postgres and controls:
        return
    selected, deselected = [], []
    for item in items:
        out = (not postgres and item.get_closest_marker("postgres")) or (
            not controls and item.get_closest_marker("negative_control")
        )
        (deselected if out else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


# Modules whose tests each open tens of PostgreSQL connections at once (racing threads): under
# xdist they share one scope, so they run one after another on one worker and never together
# exhaust the server's max_connections (100 by default).
_RACE_MODULES = ("tests/concurrency/", "tests/seatrules/test_race.py")


def pytest_xdist_make_scheduler(config, log):  # type: ignore[no-untyped-def]
    """``--dist loadfile`` (the Makefile's), with every race module in one scope."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class _Scheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return "races" if scope.startswith(_RACE_MODULES) else scope

    return _Scheduling(config, log)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix) -> None:  # type: ignore[no-untyped-def]
    """pytest-django's hook, after its per-worker suffix: on SQLite the test database is a file
    (db.sqlite3-test_gwN), and a connection still open when an earlier run dropped it leaves its
    -wal and -shm behind; SQLite would replay that WAL into the new file of the same name."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and db.get("TEST", {}).get("NAME"):
        name = db["TEST"]["NAME"]
        for leftover in (name, f"{name}-wal", f"{name}-shm", f"{name}-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)


@pytest.fixture(scope="session", autouse=True)
def _database_is_what_we_asked_for(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        vendor = connection.vendor
    if _is_postgres_run():
        assert vendor == "postgresql", (
            f"DATABASE_URL asks for PostgreSQL but the tests use {vendor}"
        )
    yield
    # Before pytest-django drops the test database: a connection some test's thread or child
    # process left open (a live server's thread, a stream) would make the DROP fail with "is
    # being accessed by other users", an error on whichever test ran last. End them.
    if vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def localstripe() -> Iterator[str]:
    """A real localstripe (Stripe emulator) on a free port, from scratch, for the whole session
    (one per xdist worker). The official stripe client reaches it through STRIPE_API_BASE."""
    from django.conf import settings

    proc, base = start_localstripe()
    previous = settings.STRIPE_API_BASE
    settings.STRIPE_API_BASE = base
    try:
        yield base
    finally:
        settings.STRIPE_API_BASE = previous
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def _stripe_emulator(localstripe):  # type: ignore[no-untyped-def]
    """Every test talks to the session's localstripe, never to Stripe."""
    return localstripe


@pytest.fixture(autouse=True)
def _fresh_caches(request, django_db_blocker):  # type: ignore[no-untyped-def]
    """Ids are reused after a test's rollback, but local-memory caches and the seat map's
    per-process copies are not rolled back: start every test without them. Neither is what a
    transactional test (a live server's, say) committed to the database cache, the default:
    its table is no model's, so the flush after the test leaves it, and a later test on the
    same worker would find its throttle counters (a 429 where a 403 was expected)."""
    from boxoffice.booking import seatmap_cache

    seatmap_cache._LOCAL.clear()
    yield
    seatmap_cache._LOCAL.clear()
    from django.core.cache.backends.locmem import _caches

    for store in _caches.values():
        store.clear()
    marker = request.node.get_closest_marker("django_db")
    committed = "transactional_db" in request.fixturenames or bool(
        marker and marker.kwargs.get("transaction")
    )
    if committed:
        from django.core.cache import caches
        from django.core.cache.backends.db import DatabaseCache

        if isinstance(caches["default"], DatabaseCache):
            with django_db_blocker.unblock():
                caches["default"].clear()


@pytest.fixture(scope="session")
def _media_root(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """Uploaded files of this session (of this xdist worker): no two workers share a folder."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _fast_and_quiet(settings, _media_root):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(_media_root)


@pytest.fixture(autouse=True)
def _no_request_outlives_its_test(request):  # type: ignore[no-untyped-def]
    """A test that used the live server ends every request it started, live seat-map streams
    included, before its database is emptied. A WSGI stream outlives its client by up to
    LIVE_WSGI_STREAM_SECONDS (it only notices a closed socket when it next writes), and on
    SQLite the live server's threads share the test's one in-memory connection: a stream left
    polling would run its reads and tidy-ups inside the next test's transactions."""
    yield
    if "live_server" not in request.fixturenames:
        return
    from django.test import override_settings

    deadline = time.monotonic() + 10
    with override_settings(LIVE_WSGI_STREAM_SECONDS=0):  # each stream ends at its next poll
        while _streaming_threads() and time.monotonic() < deadline:
            time.sleep(0.02)
    assert not _streaming_threads(), "a seat-map stream still runs after its test"


def _streaming_threads() -> list[str]:
    """Names of the live server's threads now inside a WSGI seat-map stream."""
    from boxoffice.live.views import _follow

    names = []
    frames = sys._current_frames()
    for thread in threading.enumerate():
        frame = frames.get(thread.ident or 0)
        while frame is not None and frame.f_code is not _follow.__code__:
            frame = frame.f_back
        if frame is not None:
            names.append(thread.name)
    return names


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def make_user(username: str = "alice", *, role: str = Role.CUSTOMER, **extra: object) -> User:
    return User.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, role=role, **extra
    )


@pytest.fixture
def customer(db) -> User:  # type: ignore[no-untyped-def]
    return make_user("alice")


@pytest.fixture
def other_customer(db) -> User:  # type: ignore[no-untyped-def]
    return make_user("bob")


@pytest.fixture
def admin_user(db) -> User:  # type: ignore[no-untyped-def]
    return make_user("root", role=Role.ADMIN, is_staff=True)


def bearer(user: User) -> APIClient:
    """A client authenticated with a Bearer access token, as an API client would be."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def customer_api(customer) -> APIClient:  # type: ignore[no-untyped-def]
    return bearer(customer)


@pytest.fixture
def admin_api(admin_user) -> APIClient:  # type: ignore[no-untyped-def]
    return bearer(admin_user)


@pytest.fixture
def theater(db) -> Theater:  # type: ignore[no-untyped-def]
    return Theater.objects.create(name="Odeon", address="1 Main St", timezone="Europe/Berlin")


@pytest.fixture
def screen(theater) -> Screen:  # type: ignore[no-untyped-def]
    # Without the single-seat gap rule (new screens have it): these suites hold seats freely,
    # as on a screen that existed before the rule; tests/seatrules has screens with it.
    screen = Screen.objects.create(
        theater=theater, name="Screen 1", cleaning_minutes=15, single_seat_rule=False
    )
    generate_seat_grid(
        screen=screen, rows=4, seats_per_row=5, tiers={"vip": ["A"], "premium": ["B"]}
    )
    return screen


@pytest.fixture
def movie(db) -> Movie:  # type: ignore[no-untyped-def]
    movie = Movie.objects.create(title="Metropolis", duration_minutes=120)
    movie.genres.add(Genre.objects.create(name="Drama", slug="drama"))
    return movie


def future(days: int = 1, hour: int = 19, tz: str = "Europe/Berlin") -> datetime:
    """A local time ``days`` from now at ``hour``:00 in ``tz``, as an aware datetime."""
    import zoneinfo

    local = timezone.now().astimezone(zoneinfo.ZoneInfo(tz)) + timedelta(days=days)
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


@pytest.fixture
def make_showtime(movie, screen) -> Callable[..., Showtime]:  # type: ignore[no-untyped-def]
    def _make(starts_at: datetime | None = None, **kwargs: object) -> Showtime:
        return create_showtime(
            movie=kwargs.pop("movie", movie),  # type: ignore[arg-type]
            screen=kwargs.pop("screen", screen),  # type: ignore[arg-type]
            starts_at=starts_at or future(),
            base_price=kwargs.pop("base_price", Decimal("10.00")),  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )

    return _make


@pytest.fixture
def showtime(make_showtime) -> Showtime:  # type: ignore[no-untyped-def]
    return make_showtime()


# --- Browser tests ---------------------------------------------------------------------------
# One Playwright and one Chromium for the whole session, shared by every browser suite (admin,
# docs, shop): Playwright's sync API keeps an asyncio loop on the main thread while it runs, so a
# second instance started by another suite's fixture would refuse to start.

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _chromium_problem() -> str | None:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    problem = _chromium_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Browser tests cannot run under CI: {problem}")
        pytest.skip(f"Browser tests need Chromium: {problem}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread; Django's ORM would then refuse
    # the tests' own (synchronous) queries as if they came from async code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            try:
                yield browser
            finally:
                browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous

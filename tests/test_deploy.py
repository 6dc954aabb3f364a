"""What can be checked of the deployment files without a Docker engine: the compose file's shape,
the image's commands run directly (collectstatic with the Dockerfile's throwaway settings,
gunicorn with deploy/gunicorn.conf.py answering its health check, `migrate` as the whole database
set-up), and the locks (the image's holds no dev tool; the dev lock pins the same versions)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from django.db import connection

from tests.support.net import free_port
from tests.support.processes import manage_ok

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="deploy-test-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        EMAIL_URL="smtp://127.0.0.1:25",
        **extra,
    )
    return env


def _stages() -> dict[str, str]:
    """Each stage's instructions (comments left out), by stage name, in order."""
    instructions = re.sub(r"^#.*\n", "", DOCKERFILE, flags=re.MULTILINE)
    parts = re.split(r"^FROM \S+ AS (\w+)$", instructions, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _pins(lock: str) -> dict[str, str]:
    """name -> version of each `name==version` line of a pip-compile lock."""
    text = (ROOT / lock).read_text()
    return {
        m["name"].lower().replace("_", "-"): m["version"]
        for m in re.finditer(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)", text, re.MULTILINE)
    }


def _dev_extra() -> set[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {
        re.split(r"[^A-Za-z0-9._-]", req, maxsplit=1)[0].lower().replace("_", "-")
        for req in pyproject["project"]["optional-dependencies"]["dev"]
    }


def test_the_image_runs_as_a_non_root_user_and_serves_with_scripts_serve():
    stages = _stages()
    # The app image is the last stage, so a plain `docker build` makes it; `emulators` is only
    # built on request (--target emulators) for the compose demo.
    assert list(stages) == ["build", "emulators", "runtime"]
    runtime = stages["runtime"]
    assert re.search(r"^USER app$", runtime, flags=re.MULTILINE)
    assert 'CMD ["scripts/serve"]' in runtime
    assert "COPY --chown=app:app scripts/serve ./scripts/serve" in runtime
    assert "COPY --from=build /venv /venv" in runtime
    assert "COPY --from=emulators" not in runtime


def test_the_image_installs_the_runtime_lock_only():
    build = _stages()["build"]
    assert "pip install -r requirements.lock" in build
    assert "requirements-dev.lock" not in build
    assert "requirements-dev.lock" not in _stages()["runtime"]


# Dev tools that must never reach the image. `requests` is in the dev extra for the tests, but
# stripe needs it at run time too, so it is in both locks.
DEV_TOOLS = {
    "pytest", "pytest-django", "factory-boy", "hypothesis", "schemathesis", "localstripe",
    "aiosmtpd", "ruff", "mypy", "django-stubs", "djangorestframework-stubs", "pip-tools",
    "playwright",
}  # fmt: skip


def test_the_images_lock_holds_no_dev_tool():
    runtime = _pins("requirements.lock")
    assert {"django", "gunicorn", "psycopg", "stripe"} <= set(runtime)
    dev_tools = DEV_TOOLS | (_dev_extra() - {"requests"})
    assert not dev_tools & set(runtime), "requirements.lock is the image's lock: runtime only"
    # nor what only the dev tools pull in
    for name in ("pluggy", "iniconfig", "aiohttp", "greenlet", "mypy-extensions", "faker"):
        assert name not in runtime
    # pip-tools' header names the command: compiled without the dev extra
    header = (ROOT / "requirements.lock").read_text().split("\n\n", 1)[0]
    assert "pip-compile" in header
    assert "--extra" not in header


def test_the_dev_lock_pins_the_runtime_locks_versions_and_the_dev_tools():
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    differing = {name: (v, dev.get(name)) for name, v in runtime.items() if dev.get(name) != v}
    assert not differing, f"runtime pins missing or different in requirements-dev.lock: {differing}"
    assert set(dev) >= DEV_TOOLS | _dev_extra()
    assert "--constraint=requirements.lock" in (ROOT / "requirements-dev.lock").read_text()


def test_compose_runs_web_worker_database_and_stripe_emulator():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "worker", "stripe"} <= set(services)
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    # migrate is the whole database set-up (no createcachetable)
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    for name in ("migrate", "web", "worker"):
        assert services[name]["build"]["target"] == "runtime"
    # the emulators are dev tools: their own image stage, not the app image
    for name in ("stripe", "mail"):
        assert services[name]["build"]["target"] == "emulators"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "8420" in " ".join(services["stripe"]["command"])
    env = services["web"]["environment"]
    assert env["STRIPE_API_BASE"] == "http://stripe:8420"
    assert env["DATABASE_URL"].startswith("postgres://")


def test_the_images_collectstatic_step_runs(tmp_path):
    static_root = tmp_path / "static"
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=_production_env(STATIC_ROOT=str(static_root)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (static_root / "drf_spectacular_sidecar" / "swagger-ui-dist").is_dir()
    assert list(static_root.rglob("*.gz")), "whitenoise compresses in production"


@pytest.mark.parametrize(
    "command",
    [
        ["scripts/serve"],  # production: uvicorn workers on config.asgi
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "config.wsgi:application",
        ],
    ],
    ids=["scripts-serve", "plain-wsgi"],
)
def test_the_production_server_answers_its_health_check(tmp_path, command):
    port = free_port()
    env = _production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/health/live", timeout=2
                ) as r:
                    assert r.status == 200
                    assert r.headers["X-Request-ID"]
                    break
            except OSError:
                assert server.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.2)
        # Not migrated: the readiness check says so instead of taking traffic.
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health/ready", timeout=5)
        assert refused.value.code == 503
        refused.value.close()
    finally:
        server.terminate()
        server.wait(timeout=20)


# Run in a fresh database after `migrate` alone: an anonymous API request is throttled, so its
# counter goes to the default cache, the database cache.
REQUEST_AFTER_MIGRATE = """
from django.core.cache import caches
from django.db import connection
from django.test import Client
assert type(caches["default"]).__name__ == "DatabaseCache", type(caches["default"])
status = Client().get("/api/v1/genres/").status_code
with connection.cursor() as cursor:
    cursor.execute("SELECT count(*) FROM boxoffice_cache")
    entries = cursor.fetchone()[0]
print(status, entries)
"""


def _migrate_then_request(database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CACHE_URL"))}
    env.update(
        DATABASE_URL=database_url,
        CACHE_URL="db://",
        DJANGO_DEBUG="1",
        MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONWARNINGS="ignore",
    )

    def manage(*args: str) -> str:
        return manage_ok(*args, env=env, timeout=300)

    manage("migrate", "--noinput", "-v0")
    status, entries = manage("shell", "-c", REQUEST_AFTER_MIGRATE).split()[-2:]
    assert status == "200"
    assert int(entries) >= 1, "the throttle counter went to the database cache"
    # The migration is safe to run again (the table exists: nothing to do).
    manage("migrate", "core", "0001", "--noinput", "-v0")
    manage("migrate", "--noinput", "-v0")


def test_migrate_alone_sets_up_the_database_cache_on_sqlite(tmp_path):
    _migrate_then_request(f"sqlite:///{tmp_path / 'fresh.sqlite3'}", tmp_path)


@pytest.mark.postgres
def test_migrate_alone_sets_up_the_database_cache_on_postgresql(tmp_path):
    """A new database on the test server, migrated by `migrate` alone, then dropped."""
    import psycopg

    params = connection.get_connection_params()
    url = os.environ["DATABASE_URL"]
    name = f"boxoffice_fresh_{uuid.uuid4().hex[:12]}"
    admin = {k: v for k, v in params.items() if k in ("host", "port", "user", "password")}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        _migrate_then_request(url.rsplit("/", 1)[0] + "/" + name, tmp_path)
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

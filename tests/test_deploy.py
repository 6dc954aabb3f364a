"""What can be checked of the deployment files without a Docker engine: the compose file's shape,
and the image's commands run directly (collectstatic with the Dockerfile's throwaway settings,
gunicorn with deploy/gunicorn.conf.py answering its health check)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.conftest import _free_port

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


def test_the_image_runs_as_a_non_root_user_and_serves_with_gunicorn():
    stages = re.findall(r"^FROM .* AS (\w+)", DOCKERFILE, flags=re.MULTILINE)
    assert stages == ["build", "runtime"]
    runtime = DOCKERFILE.split("AS runtime", 1)[1]
    assert re.search(r"^USER app$", runtime, flags=re.MULTILINE)
    assert '"gunicorn", "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"' in runtime


def test_compose_runs_web_worker_database_and_stripe_emulator():
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web", "worker", "stripe"} <= set(services)
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
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


def test_gunicorn_with_the_deploy_config_answers_its_health_check(tmp_path):
    port = _free_port()
    env = _production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="2",
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",
            "config.wsgi:application",
        ],
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

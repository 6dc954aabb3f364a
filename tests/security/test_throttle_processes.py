"""Throttles hold across server processes: gunicorn with three sync workers, one shared cache.

The server runs against its own SQLite file (migrated here), so this test is the same on the
SQLite and the PostgreSQL pass. Each attempt opens a fresh connection, so the attempts are
spread over the workers; the access log names the worker that answered each one.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.net import free_port
from tests.support.processes import manage_ok

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
RATE = 5
ATTEMPTS = 12
USERNAME = "target"
PASSWORD = "Tr0ub4dor&3-horse-staple"


def _env(db: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "JWT_", "THROTTLE_", "DATABASE_", "CACHE_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{db}",
        CACHE_URL="db://",
        # Per day, not per minute: the throttles count in fixed calendar windows, and a run
        # that straddled a window's end would rightly start counting again.
        THROTTLE_LOGIN=f"{RATE}/day",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _request(
    port: int, method: str, path: str, body: dict | None = None, *, source: str = "127.0.0.1"
) -> tuple[int, bytes]:
    """One request on a connection of its own, from the loopback address ``source``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
    try:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Connection": "close"}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def gunicorn_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    db = tmp_path / "throttle.sqlite3"
    env = _env(db)
    # one process for the three steps: each Django start-up costs about a second
    manage_ok(
        "shell",
        "--no-imports",
        "-c",
        "from django.core.management import call_command as run; "
        "run('migrate', interactive=False, verbosity=0); "
        "run('createcachetable'); run('create_admin')",
        env={
            **env,
            "BOXOFFICE_ADMIN_USERNAME": USERNAME,
            "BOXOFFICE_ADMIN_EMAIL": "target@example.com",
            "BOXOFFICE_ADMIN_PASSWORD": PASSWORD,
        },
    )
    access_log = tmp_path / "access.log"
    # Another process may take the free port between our probe and gunicorn's bind (and then
    # answer in its place): the health check must be logged by *our* server, else retry.
    for _ in range(3):
        port = free_port()
        access_log.write_text("")
        server_log = (tmp_path / "server.log").open("w")
        proc = subprocess.Popen(
            [
                str(GUNICORN),
                "config.wsgi:application",
                "--workers",
                "3",
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{port}",
                "--access-logfile",
                str(access_log),
                # %(p)s is the pid of the worker that answered
                "--access-logformat",
                '%(p)s "%(r)s" %(s)s',
            ],
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        try:
            if _started(proc, port, access_log):
                yield port, access_log
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            server_log.close()
    raise RuntimeError("gunicorn did not start:\n" + (tmp_path / "server.log").read_text())


def _started(proc: subprocess.Popen, port: int, access_log: Path) -> bool:
    probe = f"/api/health/live?probe={uuid.uuid4().hex}"
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if _request(port, "GET", probe)[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    else:
        return False
    while proc.poll() is None and time.monotonic() < deadline:
        if probe in access_log.read_text():
            return True
        time.sleep(0.1)
    return False


def _login_lines(access_log: Path) -> list[tuple[str, str]]:
    """(worker pid, status) of each login request, in order."""
    rows = []
    for line in access_log.read_text().splitlines():
        if "/api/v1/auth/login/" in line:
            pid, _, rest = line.partition(" ")
            rows.append((pid, rest.rsplit(" ", 1)[-1]))
    return rows


def _server_log(access_log: Path) -> str:
    return (access_log.parent / "server.log").read_text()[-3000:]


def _proves_sharing(rows: list[tuple[str, str]]) -> None:
    """Some worker refused although it had itself counted fewer than RATE attempts: it can
    only have known the count from the other workers."""
    pids = {pid for pid, _ in rows}
    assert len(pids) >= 2, f"every attempt went to one worker ({pids}); nothing was proven"
    own_counts = {pid: sum(1 for p, s in rows if p == pid and s == "401") for pid in pids}
    refusers = {pid for pid, s in rows if s == "429"}
    assert any(own_counts[pid] < RATE for pid in refusers), rows


def _wait_for_log(access_log: Path, count: int) -> list[tuple[str, str]]:
    deadline = time.monotonic() + 5
    while len(_login_lines(access_log)) < count and time.monotonic() < deadline:
        time.sleep(0.1)  # the access log line is written after the response
    return _login_lines(access_log)


def _not_near_a_window_end(window_seconds: int = 86400, margin: float = 60.0) -> None:
    """Start well inside a throttle window, so every attempt lands in the same one."""
    left = window_seconds - (time.time() % window_seconds)
    if left < margin:
        time.sleep(left + 1)


def test_login_throttles_are_shared_by_every_worker(gunicorn_server):
    port, access_log = gunicorn_server
    _not_near_a_window_end()
    # Per username: one account, each attempt from another address (127.0.0.2, .3, ...), so
    # the per-address throttle never fires and only the shared username counter can refuse.
    statuses = []
    for i in range(ATTEMPTS):
        # the right password last: once throttled, even that is refused
        password = PASSWORD if i == ATTEMPTS - 1 else f"wrong-{i}"
        status, body = _request(
            port,
            "POST",
            "/api/v1/auth/login/",
            {"username": USERNAME, "password": password},
            source=f"127.0.0.{i + 2}",
        )
        statuses.append(status)
        if status == 429:
            assert json.loads(body)["errors"][0]["code"] == "throttled"
    rows = _wait_for_log(access_log, ATTEMPTS)
    assert statuses == [401] * RATE + [429] * (ATTEMPTS - RATE), (rows, _server_log(access_log))
    assert [int(s) for _, s in rows] == statuses
    _proves_sharing(rows)

    # Per address: one address, a new username each time.
    statuses = [
        _request(
            port,
            "POST",
            "/api/v1/auth/login/",
            {"username": f"nobody-{i}", "password": "wrong"},
            source="127.0.0.99",
        )[0]
        for i in range(ATTEMPTS)
    ]
    rows = _wait_for_log(access_log, 2 * ATTEMPTS)[ATTEMPTS:]
    assert statuses == [401] * RATE + [429] * (ATTEMPTS - RATE), (rows, _server_log(access_log))
    assert [int(s) for _, s in rows] == statuses
    _proves_sharing(rows)

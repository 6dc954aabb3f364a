"""Shared pieces of the benchmarks: scratch databases, gunicorn processes, load generation,
machine facts and the results file.

Everything here talks to 127.0.0.1 only. Every process started here is stopped by its own id
when the ``with`` block that started it ends, whatever the reason (error, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
PYTHON = sys.executable

# The server PostgreSQL is reached as role boxoffice (CREATEDB) over TCP on loopback.
PG_BASE = os.environ.get("BENCH_PG_URL", "postgres://boxoffice@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

# Production mode without TLS: no debug overhead, nothing a benchmark would not see in production
# except the HTTPS redirect (loopback has no TLS terminator in front of gunicorn).
SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "LOG_LEVEL": "WARNING",
    # Required in production mode; nothing these benchmarks do sends mail.
    "EMAIL_URL": "smtp://127.0.0.1:1025",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so ``with`` blocks (and their cleanup) run."""

    def _exit(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)


# --- databases --------------------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"{PG_BASE}/{name}"


def _admin() -> psycopg.Connection:
    return psycopg.connect(database_url("postgres"), autocommit=True)


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(name: str) -> str:
    """Drop ``name`` if a previous run left it, create it empty; return its URL."""
    drop_database(name)
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )


def migrate(env: dict[str, str]) -> None:
    """Schema and the database cache's table (created whatever CACHE_URL the caller uses)."""
    manage(env, "migrate", "--noinput")
    manage({**env, "CACHE_URL": "db://"}, "createcachetable")


def server_env(*, database: str, cache: str, settings: str = "config.settings", **extra: str):
    env = {**os.environ, **SERVER_ENV, "DATABASE_URL": database, "CACHE_URL": cache}
    env["DJANGO_SETTINGS_MODULE"] = settings
    env.update(extra)
    return env


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process with the same environment the servers get."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def without_single_seat_rule(screen: object) -> None:
    """Turn off the screen's single-seat rule (409 single_seat_gap) where the model has it:
    random picks would keep tripping it, and the benchmarks measure holding seats, not the rule."""
    from boxoffice.catalog.models import Screen

    if any(f.name == "single_seat_rule" for f in Screen._meta.get_fields()):
        Screen.objects.filter(pk=screen.pk).update(single_seat_rule=False)
        screen.single_seat_rule = False  # type: ignore[attr-defined]


# --- gunicorn ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    logfile: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _wait_ready(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited early:\n{server.logfile.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", path)
            status = conn.getresponse().status
            conn.close()
        except OSError:
            time.sleep(0.2)
            continue
        if status < 500:
            return
        raise RuntimeError(
            f"{server.name} answered {status} to {path}:\n{server.logfile.read_text()[-3000:]}"
        )
    raise RuntimeError(f"{server.name} did not answer {path} within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to the gunicorn master we started (it stops its workers); SIGKILL to its process
    group (a group we created for it) if it has not finished within 15 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@contextlib.contextmanager
def gunicorn(
    name: str,
    env: dict[str, str],
    *,
    workers: int,
    threads: int = 1,
    ready_path: str = "/api/v1/showtimes/",
    app: str = "config.wsgi:application",
) -> Iterator[Server]:
    port = free_port()
    logfile = Path(tempfile.gettempdir()) / f"boxoffice-bench-{name}-{port}.log"
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "gunicorn",
                app,
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--backlog",
                "256",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, port, process, logfile)
    try:
        _wait_ready(server, ready_path, timeout=30)
        yield server
    finally:
        _stop(process)


# How a server is run. "serve" is scripts/serve (gunicorn managing uvicorn workers that run
# config.asgi: streams as coroutines, the rest through a2wsgi in WEB_THREADS threads);
# "gthread" and "sync" are gunicorn's own workers running config.wsgi. All three use
# deploy/gunicorn.conf.py (through bench/gunicorn_conf.py: no access log, no recycling).
SERVER_KINDS = ("serve", "gthread", "sync")


@contextlib.contextmanager
def server(
    name: str,
    env: dict[str, str],
    *,
    kind: str = "serve",
    workers: int | None = None,
    threads: int = 8,
    ready_path: str = "/api/v1/showtimes/",
) -> Iterator[Server]:
    """The project served like production: ``kind`` is one of SERVER_KINDS. ``workers``
    defaults to the production default (2 x cores + 1)."""
    port = free_port()
    logfile = Path(tempfile.gettempdir()) / f"boxoffice-bench-{name}-{port}.log"
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    if kind == "serve":
        env["WEB_THREADS"] = str(threads)
        cmd = [str(ROOT / "scripts" / "serve")]
        # scripts/serve names deploy/gunicorn.conf.py first; a later -c wins.
        extra = ["-c", str(ROOT / "bench" / "gunicorn_conf.py")]
    elif kind in ("gthread", "sync"):
        env["GUNICORN_THREADS"] = str(threads if kind == "gthread" else 1)
        cmd = [PYTHON, "-m", "gunicorn", "config.wsgi:application"]
        extra = ["-c", str(ROOT / "bench" / "gunicorn_conf.py")]
    else:
        raise ValueError(f"kind must be one of {SERVER_KINDS}, not {kind!r}")
    env["PATH"] = f"{Path(PYTHON).parent}:{env.get('PATH', '')}"
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            [*cmd, *extra, "--log-level", "warning"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    srv = Server(name, port, process, logfile)
    try:
        _wait_ready(srv, ready_path, timeout=60)
        yield srv
    finally:
        _stop(process)


def describe_server(kind: str, workers: int | None, threads: int) -> str:
    n = workers if workers is not None else f"{(os.cpu_count() or 1) * 2 + 1} (default)"
    if kind == "serve":
        return f"scripts/serve: {n} uvicorn workers x WEB_THREADS={threads}"
    if kind == "gthread":
        return f"gunicorn gthread: {n} workers x {threads} threads (config.wsgi)"
    return f"gunicorn sync: {n} workers (config.wsgi)"


@contextlib.contextmanager
def localstripe() -> Iterator[dict[str, str]]:
    """localstripe (the Stripe emulator the tests use) on a free loopback port; yields the
    settings that point the official client at it."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                http_get(f"http://127.0.0.1:{port}/js.stripe.com/v3/")
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield {
            "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_PUBLISHABLE_KEY": "pk_test_bench",
            "STRIPE_WEBHOOK_SECRET": "whsec_bench",
        }
    finally:
        _stop(process)


# --- HTTP -------------------------------------------------------------------------------------


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert match, url
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- load generation --------------------------------------------------------------------------

# Each request claims to come from one of many clients behind one proxy (X-Forwarded-For with
# NUM_PROXIES=1), as a public seat map is read in production: every client has its own
# anonymous throttle history, instead of one loopback address piling up a huge one.
WRK_LUA = """
math.randomseed(os.time())
request = function()
  local ip = "10." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  return wrk.format("GET", nil, { ["X-Forwarded-For"] = ip })
end
"""


@dataclass
class LoadResult:
    tool: str
    seconds: float
    requests: int
    rps: float
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    @property
    def ok(self) -> bool:
        bad = sum(n for s, n in self.statuses.items() if s != "200")
        return bad == 0 and self.errors == 0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, *, seconds: float, connections: int, threads: int, many_clients: bool
) -> LoadResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--timeout", "10s"]
    with tempfile.TemporaryDirectory() as scratch:
        if many_clients:
            script = Path(scratch) / "many_clients.lua"
            script.write_text(WRK_LUA)
            cmd += ["-s", str(script)]
        out = subprocess.run(
            [*cmd, url], capture_output=True, text=True, check=True, timeout=seconds + 30
        ).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    bad = int(non2xx.group(1)) if non2xx else 0
    # wrk counts a read error for every connection gunicorn's sync workers close after a
    # response (they do not keep connections alive); connect errors and timeouts are real.
    errs = int(errors.group(1)) + int(errors.group(4)) if errors else 0
    statuses = {"200": total - bad}
    if bad:
        statuses["non-2xx"] = bad
    return LoadResult("wrk", seconds, total, rps, statuses, errs)


def run_python_load(
    url: str, *, seconds: float, connections: int, many_clients: bool
) -> LoadResult:
    """Fallback when wrk is missing: threads with keep-alive http.client connections (gunicorn's
    sync workers close each connection after a response; the client then reconnects). Client-bound
    on a small machine: its numbers are lower than wrk's, but both sides of a ratio pay alike."""
    match = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    host, port, path = match.group(1), int(match.group(2)), match.group(3)
    statuses: Counter[str] = Counter()
    errors = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def worker(index: int) -> None:
        local: Counter[str] = Counter()
        failures = 0
        conn = http.client.HTTPConnection(host, port, timeout=10)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            headers = {}
            if many_clients:
                headers["X-Forwarded-For"] = f"10.{index}.{n // 250 % 256}.{n % 250 + 1}"
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                local[str(response.status)] += 1
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                failures += 1
                conn.close()
        conn.close()
        with lock:
            statuses.update(local)
            errors[0] += failures

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(statuses.values())
    return LoadResult("python", elapsed, total, total / elapsed, dict(statuses), errors[0])


def load(
    url: str, *, seconds: float, connections: int, threads: int = 1, many_clients: bool = True
) -> LoadResult:
    if have_wrk():
        return run_wrk(
            url,
            seconds=seconds,
            connections=connections,
            threads=threads,
            many_clients=many_clients,
        )
    return run_python_load(url, seconds=seconds, connections=connections, many_clients=many_clients)


# --- facts and results ------------------------------------------------------------------------


def loadavg() -> str:
    """1, 5 and 15-minute load averages: other work on the machine shows here."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine() -> dict[str, object]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gib = None
    with contextlib.suppress(OSError, ValueError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        mem_gib = round(kib / 1024 / 1024, 1)
    with _admin() as conn:
        pg = conn.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "postgresql": pg,
        "load_generator": "wrk" if have_wrk() else "python http.client threads",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def save_results(section: str, data: dict[str, object]) -> None:
    """Merge ``data`` under ``section`` into bench/results/latest.json."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}
    if RESULTS.exists():
        with contextlib.suppress(ValueError):
            results = json.loads(RESULTS.read_text())
    results[section] = data
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    log(f"results written to {RESULTS.relative_to(ROOT)} [{section}]")

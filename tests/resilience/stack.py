"""The real pieces the resilience tests break: a PostgreSQL cluster of our own, localstripe,
gunicorn, the worker, SMTP servers. Every process is started in its own session (process
group) and stopped by its id; every folder is temporary."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WEBHOOK_SECRET = "whsec_resilience"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except (OSError, requests.RequestException, psycopg.Error):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


# --- PostgreSQL ---------------------------------------------------------------------------------


def _pg_bin() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BIN")


class PgCluster:
    """A throwaway PostgreSQL cluster: initdb in a temporary folder, its own port, trust auth,
    no fsync. PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user
    (``nobody`` if there is none)."""

    USER = "boxoffice"

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="boxoffice-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.owner: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    self.owner = name
                    os.chown(self.dir, entry.pw_uid, entry.pw_gid)
                    break
            if self.owner is None:
                raise RuntimeError("running as root and no postgres/nobody user to run as")

    def _run(self, *args: str, timeout: float = 60) -> None:
        argv = [str(self.bin / args[0]), *args[1:]]
        if self.owner:
            argv = ["runuser", "-u", self.owner, "--", *argv]
        subprocess.run(
            argv,
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.dir,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str) -> str:
        return f"postgres://{self.USER}@127.0.0.1:{self.port}/{db}"

    def connect(self, db: str) -> psycopg.Connection:
        return psycopg.connect(
            f"postgresql://{self.USER}@127.0.0.1:{self.port}/{db}", autocommit=True
        )

    def query(self, db: str, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect(db) as conn:
            return conn.execute(sql, params).fetchall()

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.connect("postgres") as conn:
            conn.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
            )
        return name


# --- processes ----------------------------------------------------------------------------------


class Processes:
    """Processes a test started, each in its own process group, logged to a file; ``close``
    stops every one of them (SIGTERM to its group, SIGKILL after a grace period)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        self._files: list = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        self._files.append(log)
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs[name] = proc
        return proc

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """A fault: the process (and its children, e.g. gunicorn's workers) dies now."""
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=15)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name)
        _stop(proc)

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for name in list(self.procs):
            _stop(self.procs.pop(name))
        for f in self._files:
            f.close()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # gunicorn's workers, if the master went first
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


# --- SMTP ---------------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: every message received, across restarts of the server."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a fixed port that can be stopped and started again."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.inbox = Inbox()
        self._controller = None

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


class StallingSmtp:
    """Accepts connections and never greets: a worker sending mail hangs inside the send."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


# --- the application ----------------------------------------------------------------------------


class Stack:
    """One deployment of boxoffice on a database of the cluster: localstripe, gunicorn, the
    worker, started on demand with the same environment."""

    def __init__(self, cluster: PgCluster, db: str, logs: Path, **env: str) -> None:
        self.cluster = cluster
        self.db = db
        self.logs = logs
        self.procs = Processes(logs)
        self.stripe_port = free_port()
        self.stripe = f"http://127.0.0.1:{self.stripe_port}"
        self.stripe_state = logs / "localstripe.pickle"
        self.web_port = free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "STRIPE_", "TASK_", "THROTTLE_", "EMAIL_"))
            and key not in {"DATABASE_URL", "CACHE_URL", "PYTEST_CURRENT_TEST"}
        }
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings",
                "DJANGO_DEBUG": "1",
                "DATABASE_URL": cluster.url(db),
                "STRIPE_API_BASE": self.stripe,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_TIMEOUT_SECONDS": "5",
                "THROTTLE_USER": "1000000/minute",
                "THROTTLE_ANON": "1000000/minute",
                "THROTTLE_LOGIN": "1000000/minute",
                "TASK_RETRY_BASE_SECONDS": "1",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "PYTHONWARNINGS": "ignore",
                **env,
            }
        )

    # localstripe, with its state in our own file (it survives a restart of the emulator)
    def start_localstripe(self, *, from_scratch: bool = False) -> None:
        argv = [sys.executable, str(HERE / "localstripe_isolated.py"), "--port"]
        argv += [str(self.stripe_port)] + (["--from-scratch"] if from_scratch else [])
        proc = self.procs.start(
            "localstripe", argv, {**self.env, "LOCALSTRIPE_STATE": str(self.stripe_state)}
        )

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"localstripe exited:\n{self.procs.log_tail('localstripe')}")
            return requests.get(f"{self.stripe}/js.stripe.com/v3/", timeout=1).ok

        wait_for(up, timeout=20, what="localstripe")

    def register_webhook(self) -> None:
        """localstripe keeps webhooks in memory only: register again after each restart."""
        response = requests.post(
            f"{self.stripe}/_config/webhooks/boxoffice",
            data={"url": f"{self.web}/api/v1/payments/stripe/webhook/", "secret": WEBHOOK_SECRET},
            timeout=5,
        )
        response.raise_for_status()

    def start_web(self, workers: int = 3) -> subprocess.Popen:
        argv = [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
        argv += ["--bind", f"127.0.0.1:{self.web_port}", "--workers", str(workers)]
        argv += ["--timeout", "30", "--graceful-timeout", "3", "--error-logfile", "-"]
        proc = self.procs.start("gunicorn", argv, self.env)

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.procs.log_tail('gunicorn')}")
            return requests.get(f"{self.web}/api/health/ready", timeout=2).status_code == 200

        wait_for(up, timeout=30, what="gunicorn")
        return proc

    def start_worker(self, name: str = "worker", **env: str) -> subprocess.Popen:
        argv = [sys.executable, "manage.py", "worker", "--no-startup-delay", "--interval", "0.2"]
        return self.procs.start(name, argv, {**self.env, **env})

    def manage(self, *args: str, timeout: float = 120, **env: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def remote(self, command: str, timeout: float = 120, **kwargs: object) -> dict:
        result = subprocess.run(
            [sys.executable, "-m", "tests.resilience.remote", command, json.dumps(kwargs)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.cluster.query(self.db, sql, params)

    def invariant_breaches(self, *, run_worker: bool = True) -> dict[str, list[tuple]]:
        """The invariant sweep (tests/invariants.py: the same SQL the in-process tests run) on
        this stack's database; empty when everything holds. First a batch worker runs the queued
        tasks (refunds) to completion, unless ``run_worker`` is False (a worker of the stack is
        known to have drained the queue). A test ends with
        ``assert not stack.invariant_breaches()``."""
        from tests.invariants import breaches

        if run_worker:
            self.manage("db_worker", "--batch", "--no-startup-delay", "--interval", "0")
        return breaches(self.query)

    def token(self, username: str, password: str) -> str:
        response = requests.post(
            f"{self.web}/api/v1/auth/token/",
            json={"username": username, "password": password},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()["access"]

    def close(self) -> None:
        self.procs.close()


def stripe_client(base: str):  # type: ignore[no-untyped-def]
    """The official client pointed at a localstripe, as a customer's browser (Stripe.js) would
    reach Stripe: no retries, so every failure is seen."""
    import stripe

    return stripe.StripeClient(
        api_key="sk_test_resilience",
        base_addresses={"api": base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=10),
    )


def pay(client, intent_id: str, card: str = "4242424242424242") -> str:  # type: ignore[no-untyped-def]
    """Attach a test card and confirm (boxoffice.payments.gateway.pay_with_test_card's steps)."""
    method = client.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": card, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    client.v1.payment_intents.update(intent_id, params={"payment_method": method.id})
    return str(client.v1.payment_intents.confirm(intent_id).status)


def localstripe_list(base: str, resource: str) -> list[dict]:
    items: list[dict] = []
    query: dict[str, str | int] = {"limit": 100}
    while True:
        response = requests.get(
            f"{base}/v1/{resource}",
            params=query,
            headers={"Authorization": "Bearer sk_test_x"},
            timeout=10,
        )
        response.raise_for_status()
        page = response.json()
        items.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return items
        query["starting_after"] = page["data"][-1]["id"]


@contextlib.contextmanager
def stack_on(cluster: PgCluster, name: str, logs: Path, **env: str) -> Iterator[Stack]:
    cluster.create_database(name, template="boxoffice_template")
    stack = Stack(cluster, name, logs, **env)
    try:
        yield stack
    finally:
        stack.close()

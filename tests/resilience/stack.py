"""The real pieces the resilience tests break: a PostgreSQL cluster of our own, localstripe,
gunicorn, the worker, SMTP servers. Every process is started in its own session (process
group) and stopped by its id; every folder is temporary."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import requests

from tests.support.net import free_port
from tests.support.net import wait_for as support_wait_for
from tests.support.pgcluster import PgCluster as SupportPgCluster
from tests.support.stripe import register_webhook

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WEBHOOK_SECRET = "whsec_resilience"


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str) -> None:
    """tests/support's wait, where a refused connection or a database error means not yet."""
    support_wait_for(
        predicate,
        timeout=timeout,
        what=what,
        interval=0.1,
        ignoring=(OSError, requests.RequestException, psycopg.Error),
    )


# --- PostgreSQL ---------------------------------------------------------------------------------


class PgCluster(SupportPgCluster):
    """tests/support's throwaway cluster on a free port of 127.0.0.1, with room for the
    connections of gunicorn's and the workers' processes."""

    def __init__(self) -> None:
        super().__init__(max_connections=200)


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
        register_webhook(self.stripe, f"{self.web}/api/v1/payments/stripe/webhook/", WEBHOOK_SECRET)

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


@contextlib.contextmanager
def stack_on(cluster: PgCluster, name: str, logs: Path, **env: str) -> Iterator[Stack]:
    cluster.create_database(name, template="boxoffice_template")
    stack = Stack(cluster, name, logs, **env)
    try:
        yield stack
    finally:
        stack.close()

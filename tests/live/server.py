"""``scripts/serve`` as a subprocess, for black-box tests of the production server form.

The server runs in its own session (process group) and is stopped by that group's id: SIGTERM,
then SIGKILL after a short grace (open streams would otherwise hold gunicorn's graceful
shutdown for its whole timeout). Which worker process serves a connection is read from /proc:
the server-side socket of the connection (its remote port is the client's local port) and the
worker holding that socket's inode.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVE = ROOT / "scripts" / "serve"

# Inherited variables that would change what the server under test does.
_DROP_PREFIXES = ("LIVE_", "BOOKING_", "WEB_", "GUNICORN_", "THROTTLE_", "PYTEST_")
_DROP = {"DATABASE_URL", "CACHE_URL", "HOST", "PORT", "DJANGO_SETTINGS_MODULE", "GUNICORN_BIND"}


def server_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_DROP_PREFIXES) and key not in _DROP
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "2",
            "WEB_THREADS": "4",
            "THROTTLE_USER": "1000000/minute",
            "THROTTLE_ANON": "1000000/minute",
            "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore",
            **overrides,
        }
    )
    return env


class Server:
    """One ``scripts/serve`` (gunicorn + uvicorn workers). ``prefix`` runs it through another
    command first (``ip netns exec NAME``, which execs it: the pid stays gunicorn's)."""

    def __init__(self, env: dict[str, str], log: Path, prefix: Sequence[str] = ()) -> None:
        self.env = env
        self.log = log
        self.host = env["HOST"]
        self.port = int(env["PORT"])
        self.url = f"http://{self.host}:{self.port}"
        self._log_file = log.open("ab")
        self.proc = subprocess.Popen(
            [*prefix, str(SERVE)],
            cwd=ROOT,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        """Until every worker has started its application (each logs it once)."""
        deadline = time.monotonic() + timeout
        while self.log_text().count("Application startup complete") < workers:
            if self.proc.poll() is not None:
                raise AssertionError(f"scripts/serve exited:\n{self.log_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"scripts/serve not ready:\n{self.log_text()[-3000:]}")
            time.sleep(0.1)

    def worker_pids(self) -> set[int]:
        """The gunicorn master's children."""
        pids = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    pids.add(int(entry))
        return pids

    def listening_addresses(self) -> set[tuple[str, int]]:
        """(address, port) of the TCP sockets listening in the server's network namespace on
        its port."""
        found = set()
        for local, _, state, _ in _tcp_sockets(self.proc.pid):
            if state == "0A" and local[1] == self.port:
                found.add(local)
        return found

    def serving_pid(self, client_port: int, timeout: float = 5) -> int:
        """The worker process that accepted the connection whose client side has this port."""
        deadline = time.monotonic() + timeout
        while True:
            inodes = {
                inode
                for local, remote, state, inode in _tcp_sockets(self.proc.pid)
                if local[1] == self.port and remote[1] == client_port and inode != "0"
            }
            for pid in self.worker_pids():
                with contextlib.suppress(OSError):
                    for fd in os.listdir(f"/proc/{pid}/fd"):
                        with contextlib.suppress(OSError):
                            link = os.readlink(f"/proc/{pid}/fd/{fd}")
                            if link.startswith("socket:[") and link[8:-1] in inodes:
                                return pid
            if time.monotonic() > deadline:
                raise AssertionError(f"no worker holds the connection from port {client_port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=3)
        # the workers too, whether or not the master went first
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        self._log_file.close()


def _tcp_sockets(pid: int) -> list[tuple[tuple[str, int], tuple[str, int], str, str]]:
    """(local, remote, state, inode) of the IPv4 TCP sockets of ``pid``'s network namespace."""
    rows = []
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            rows.append((_address(fields[1]), _address(fields[2]), fields[3], fields[9]))
    return rows


def _address(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    return socket.inet_ntoa(bytes.fromhex(host)[::-1]), int(port, 16)

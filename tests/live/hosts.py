"""Hosts of our own for the two-hosts test: network namespaces joined by a bridge, and a
throwaway PostgreSQL cluster in one of them.

    namespace  address            runs
    <p>-lan    10.213.0.254/24    the bridge; the test's clients (threads that enter it)
    <p>-db     10.213.0.1/24      PostgreSQL (also on the namespace's own loopback)
    <p>-a      10.213.0.2/24      scripts/serve: host A
    <p>-b      10.213.0.3/24      scripts/serve: host B

Every interface is created directly inside these namespaces (``ip link add ... netns``), so
nothing is added to the machine's own network; traffic goes only to these addresses and to each
namespace's loopback. ``close`` ends every process left in them and deletes them.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SUBNET = "10.213.0"
ADDRESSES = {"db": f"{SUBNET}.1", "a": f"{SUBNET}.2", "b": f"{SUBNET}.3", "lan": f"{SUBNET}.254"}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, timeout=20, capture_output=True)


class Network:
    def __init__(self) -> None:
        self.prefix = f"bxlive{os.getpid()}"
        self.names = {role: f"{self.prefix}-{role}" for role in ADDRESSES}
        self.created: list[str] = []

    def up(self) -> None:
        for name in self.names.values():
            _ip("netns", "add", name)
            self.created.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        lan = self.names["lan"]
        _ip("-n", lan, "link", "add", "br0", "type", "bridge")
        _ip("-n", lan, "addr", "add", f"{ADDRESSES['lan']}/24", "dev", "br0")
        _ip("-n", lan, "link", "set", "br0", "up")
        for role in ("db", "a", "b"):
            name = self.names[role]
            _ip(
                "link", "add", "eth0", "netns", name, "type", "veth",
                "peer", "name", f"v{role}", "netns", lan,
            )  # fmt: skip
            _ip("-n", lan, "link", "set", f"v{role}", "master", "br0", "up")
            _ip("-n", name, "addr", "add", f"{ADDRESSES[role]}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")

    def exec_prefix(self, role: str) -> list[str]:
        return ["ip", "netns", "exec", self.names[role]]

    def clients(self, workers: int) -> ThreadPoolExecutor:
        """Threads inside the lan namespace: sockets they open live there."""
        return ThreadPoolExecutor(
            max_workers=workers, initializer=_enter, initargs=(self.names["lan"],)
        )

    def close(self) -> None:
        for name in reversed(self.created):
            # processes left in a namespace we made are ours (started by the test)
            found = subprocess.run(
                ["ip", "netns", "pids", name], capture_output=True, text=True, timeout=20
            )
            for pid in found.stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=20)
        self.created.clear()


def _enter(name: str) -> None:
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        os.setns(fd, os.CLONE_NEWNET)
    finally:
        os.close(fd)


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


class Cluster:
    """A throwaway PostgreSQL cluster in the db namespace: trust authentication for the
    subnet, no fsync, its unix socket in its own folder (the test reads the database through
    it). PostgreSQL refuses to run as root: it runs as ``postgres`` (or ``nobody``)."""

    USER = "boxoffice"
    PORT = 5432

    def __init__(self, network: Network) -> None:
        self.network = network
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="boxoffice-live-pg-"))
        self.data = self.dir / "data"
        self.owner: list[str] = []
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    os.chown(self.dir, entry.pw_uid, entry.pw_gid)
                    self.owner = ["runuser", "-u", name, "--"]
                    break

    def _run(self, *argv: str, namespace: bool = False) -> None:
        prefix = self.network.exec_prefix("db") if namespace else []
        subprocess.run(
            [*prefix, *self.owner, str(self.bin / argv[0]), *argv[1:]],
            check=True,
            timeout=60,
            capture_output=True,
            cwd=self.dir,
        )

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync")
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        options = (
            f"-p {self.PORT} -k {self.dir} -c listen_addresses={ADDRESSES['db']},127.0.0.1 "
            "-c fsync=off -c full_page_writes=off -c synchronous_commit=off "
            "-c max_connections=100"
        )
        log = str(self.dir / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start",
                  namespace=True)  # fmt: skip
        self._run("createdb", "-h", str(self.dir), "-p", str(self.PORT), "-U", self.USER,
                  "boxoffice")  # fmt: skip

    def url(self, host: str) -> str:
        return f"postgres://{self.USER}@{host}:{self.PORT}/boxoffice"

    def conninfo(self) -> str:
        """Through the unix socket: no network from the test process."""
        return f"host={self.dir} port={self.PORT} user={self.USER} dbname=boxoffice"

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

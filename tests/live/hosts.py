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
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

from tests.support.pgcluster import PgCluster

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


class Cluster(PgCluster):
    """A throwaway PostgreSQL cluster (tests/support/pgcluster.py) in the db namespace, on that
    namespace's own port 5432, trusting the subnet; ``create`` makes and starts it, with the
    ``boxoffice`` database."""

    PORT = 5432

    def __init__(self, network: Network) -> None:
        super().__init__(
            port=self.PORT,
            listen=(ADDRESSES["db"], "127.0.0.1"),
            server_prefix=network.exec_prefix("db"),
            trust=(f"{SUBNET}.0/24",),
            folder_prefix="boxoffice-live-pg-",
        )

    def create(self) -> None:
        self.init()
        self.create_database("boxoffice")

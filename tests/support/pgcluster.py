"""A throwaway PostgreSQL cluster: initdb in a temporary folder, trust authentication, no
fsync, its unix socket in that folder (the test process reaches it there, whatever network
namespace the server runs in). PostgreSQL refuses to run as root, so as root it runs as the
``postgres`` user (``nobody`` if there is none). Used by the two-hosts test (inside a network
namespace) and the resilience tests (restarted under load)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psycopg

from tests.support.net import free_port


def pg_bin() -> Path:
    """The newest PostgreSQL server binaries (initdb, pg_ctl), or PG_BIN."""
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
    """``init()`` creates and starts it, ``stop()``/``start()`` restart it, ``destroy()`` stops
    it and removes every file. ``server_prefix`` runs the server through another command (``ip
    netns exec NAME``); ``trust`` adds pg_hba lines for other networks."""

    USER = "boxoffice"

    def __init__(
        self,
        *,
        port: int | None = None,
        listen: Sequence[str] = ("127.0.0.1",),
        max_connections: int = 100,
        server_prefix: Sequence[str] = (),
        trust: Sequence[str] = (),
        folder_prefix: str = "boxoffice-pg-",
    ) -> None:
        self.bin = pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix=folder_prefix))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = port or free_port()
        self.listen = ",".join(listen)
        self.max_connections = max_connections
        self.server_prefix = list(server_prefix)
        self.trust = list(trust)
        self.owner: list[str] = []
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    entry = pwd.getpwnam(name)
                    os.chown(self.dir, entry.pw_uid, entry.pw_gid)
                    self.owner = ["runuser", "-u", name, "--"]
                    break
            if not self.owner:
                raise RuntimeError("running as root and no postgres/nobody user to run as")

    def _run(self, *args: str, server: bool = False, timeout: float = 60) -> None:
        prefix = self.server_prefix if server else []
        subprocess.run(
            [*prefix, *self.owner, str(self.bin / args[0]), *args[1:]],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=self.dir,
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", self.USER, "--no-sync")
        if self.trust:
            with (self.data / "pg_hba.conf").open("a") as hba:
                for network in self.trust:
                    hba.write(f"host all all {network} trust\n")
        self.start()

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={self.listen} -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off "
            f"-c max_connections={self.max_connections}"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start",
            server=True,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, db: str, host: str = "127.0.0.1") -> str:
        """What a server process is given (DATABASE_URL), over TCP."""
        return f"postgres://{self.USER}@{host}:{self.port}/{db}"

    def conninfo(self, db: str) -> str:
        """Through the unix socket: no network from the test process."""
        return f"host={self.dir} port={self.port} user={self.USER} dbname={db}"

    def connect(self, db: str) -> psycopg.Connection:
        return psycopg.connect(self.conninfo(db), autocommit=True)

    def query(self, db: str, sql: str, params: tuple = ()) -> list[tuple]:
        with self.connect(db) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def create_database(self, name: str, template: str | None = None) -> str:
        with self.connect("postgres") as conn:
            conn.execute(
                f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")  # type: ignore[arg-type]
            )
        return name

"""Clients generated from the live schema work untouched.

- Python: openapi-python-client generates ``boxoffice_client`` into a temporary directory; the
  admin and customer flows of client_flow.py run with it against ``live_server`` (no raw HTTP,
  nothing patched), and ``mypy --strict`` accepts client_flow.py with the package on MYPYPATH.
- TypeScript: openapi-typescript generates schema.d.ts; ``tsc --strict --noEmit`` accepts
  flow.ts, which builds the same requests and reads the same answers.
"""

from __future__ import annotations

import datetime
import importlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import PASSWORD, make_user

from .conftest import ROOT, node_tool, python_tool

HERE = Path(__file__).resolve().parent
PACKAGE = "boxoffice_client"


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args[0]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def generated_package(schema_file: Path, tmp_path: Path) -> Iterator[Path]:
    """``boxoffice_client`` generated from the schema; yields the directory that holds it."""
    config = tmp_path / "client.yaml"
    config.write_text(
        f"package_name_override: {PACKAGE}\nproject_name_override: boxoffice-client\n"
    )
    root = tmp_path / "pkg"
    _run(
        [
            str(python_tool("openapi-python-client")),
            "generate",
            "--path",
            str(schema_file),
            "--meta",
            "none",
            "--output-path",
            str(root / PACKAGE),
            "--config",
            str(config),
        ]
    )
    sys.path.insert(0, str(root))
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
        sys.modules.pop("tests.contract.client_flow", None)


def _flow() -> ModuleType:
    return importlib.import_module("tests.contract.client_flow")


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_runs_the_admin_and_customer_flows(
    generated_package: Path, live_server
) -> None:  # type: ignore[no-untyped-def]
    from boxoffice.accounts.models import Role

    make_user("root", role=Role.ADMIN)
    make_user("alice")
    flow = _flow()
    day = datetime.date.today() + datetime.timedelta(days=3)

    with (
        flow.sign_in(live_server.url, "root", PASSWORD) as admin,
        flow.sign_in(live_server.url, "alice", PASSWORD) as customer,
    ):
        scheduled = flow.admin_flow(admin, day)
        visit = flow.customer_flow(customer, day, scheduled.movie.title)
        report = flow.shows_report(admin, day)
    assert visit.held.total == "25.00"
    assert visit.held.currency == "usd"
    assert visit.payment.client_secret

    rows = [row for row in report.results if row.showtime == scheduled.showtime.id]
    assert len(rows) == 1
    assert rows[0].sold == 0


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_changes_a_password(generated_package: Path, live_server) -> None:  # type: ignore[no-untyped-def]
    make_user("alice")
    me = _flow().password_flow(live_server.url, "alice", PASSWORD, "a-brand-new-passphrase-42")
    assert me.username == "alice"


def test_client_flow_is_mypy_strict_clean(generated_package: Path) -> None:
    env = {**os.environ, "MYPYPATH": str(generated_package)}
    _run(
        [
            str(python_tool("mypy")),
            "--strict",
            "--no-incremental",
            "--cache-dir",
            os.devnull,
            "--config-file",
            os.devnull,
            str(HERE / "client_flow.py"),
        ],
        env=env,
        cwd=ROOT,
    )


def test_typescript_requests_are_tsc_strict_clean(schema_file: Path, tmp_path: Path) -> None:
    openapi_typescript = node_tool("openapi-typescript")
    tsc = node_tool("tsc")
    # --default-non-nullable false: a field with a default stays optional in request bodies.
    _run(
        [
            str(openapi_typescript),
            str(schema_file),
            "--default-non-nullable",
            "false",
            "-o",
            str(tmp_path / "schema.d.ts"),
        ]
    )
    (tmp_path / "flow.ts").write_text((HERE / "flow.ts").read_text())
    _run(
        [
            str(tsc),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            str(tmp_path / "flow.ts"),
        ]
    )

"""Fault injection: real PostgreSQL restarts, SMTP and Stripe outages, killed workers.

These tests start their own PostgreSQL cluster, gunicorn, workers and emulators, so they are
marked ``resilience`` and left out of the ordinary run; run them with

    make test-resilience        # .venv/bin/pytest -m resilience tests/resilience

(or RESILIENCE=1). Each test records its figures; the session writes them all to
``tests/resilience/last_run.json`` for the README's resilience table.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .stack import ROOT, PgCluster

REPORT = Path(__file__).resolve().parent / "last_run.json"


def _enabled(config: pytest.Config) -> bool:
    return os.environ.get("RESILIENCE") == "1" or "resilience" in (
        config.getoption("markexpr", "") or ""
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    if _enabled(config):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("resilience") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    report = yield
    setattr(item, f"_resilience_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def resilience_results() -> Iterator[list[dict]]:
    results: list[dict] = []
    started = time.monotonic()
    yield results
    if not results:
        return
    REPORT.write_text(
        json.dumps(
            {
                "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 1),
                "python": platform.python_version(),
                "scenarios": results,
            },
            indent=2,
        )
        + "\n"
    )


@pytest.fixture
def record(request, resilience_results) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """The test fills this dict (scenario, how, figures); its outcome is added afterwards."""
    row: dict = {"test": request.node.name}
    started = time.monotonic()
    yield row
    call = getattr(request.node, "_resilience_call", None)
    row["outcome"] = "passed" if call is not None and call.passed else "failed"
    row["seconds"] = round(time.monotonic() - started, 1)
    resilience_results.append(row)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of our own, with a migrated template database that each test
    copies (CREATE DATABASE ... TEMPLATE), so no test waits for migrations."""
    cluster = PgCluster()
    try:
        cluster.init()
        cluster.create_database("boxoffice_template")
        env = {
            **{k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"},
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": cluster.url("boxoffice_template"),
            "DJANGO_DEBUG": "1",
        }
        for command in (["migrate", "--verbosity", "0"], ["createcachetable"]):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=180,
                capture_output=True,
            )
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path

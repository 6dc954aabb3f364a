"""``manage.py`` as a subprocess, with an environment of the test's choosing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py ARGS`` from the repository's root; the caller reads the outcome."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def manage_ok(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """``manage`` that must succeed; returns its standard output."""
    result = manage(*args, env=env, timeout=timeout)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    return result.stdout

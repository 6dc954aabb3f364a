"""Helpers of the contract tests: the live schema as a file, and the Node tools of tools/node."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = ROOT / "tools" / "node" / "node_modules" / ".bin"
VENV_BIN = ROOT / ".venv" / "bin"


def node_tool(name: str) -> Path:
    """A tool installed by `npm ci --prefix tools/node` (scripts/test-services runs it). Missing:
    a skip that says how to install it, or a failure under CI=true."""
    path = NODE_BIN / name
    if not path.exists():
        reason = f"{path} is missing: run scripts/test-services (npm ci --prefix tools/node)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def python_tool(name: str) -> Path:
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: it is in requirements-dev.lock (make venv)")
    return path


@pytest.fixture
def schema_file(tmp_path: Path) -> Path:
    """The schema exactly as GET /api/schema/ serves it (same generator and settings)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    path = tmp_path / "schema.json"
    path.write_bytes(OpenApiJsonRenderer().render(schema))
    json.loads(path.read_text())  # well-formed
    return path

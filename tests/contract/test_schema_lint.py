"""The schema passes openapi-spec-validator and Redocly CLI's recommended rules (0 errors; any
warning is printed). tools/node/redocly.yaml says which rules, and why one is off."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from .conftest import ROOT, node_tool


def test_openapi_spec_validator_accepts_the_schema(schema_file: Path) -> None:
    spec, _ = read_from_filename(str(schema_file))
    validate(spec)


def test_redocly_recommended_rules_find_no_error(schema_file: Path) -> None:
    redocly = node_tool("redocly")
    result = subprocess.run(
        [
            str(redocly),
            "lint",
            "--config",
            str(ROOT / "tools" / "node" / "redocly.yaml"),
            "--format",
            "json",
            str(schema_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT / "tools" / "node",
    )
    start = result.stdout.find("{")
    assert start >= 0, result.stdout + result.stderr
    report = json.loads(result.stdout[start:])
    totals = report["totals"]
    problems = [
        f"{p['severity']} {p['ruleId']}: {p['message']} at "
        f"{[loc.get('pointer') for loc in p.get('location', [])]}"
        for p in report.get("problems", [])
    ]
    print(f"Redocly: {totals['errors']} errors, {totals['warnings']} warnings", *problems, sep="\n")
    assert totals["errors"] == 0, "\n".join(problems)

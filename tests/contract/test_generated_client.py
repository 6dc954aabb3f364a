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
import io
import json
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


def _generate(schema_file: Path, tmp_path: Path) -> tuple[Path, str]:
    """``boxoffice_client`` generated from the schema: the directory that holds it, and what
    the generator printed. No post-generation hooks: the code is checked as generated (its
    default hook, ruff, would otherwise be looked for on PATH, and its fixes differ)."""
    config = tmp_path / "client.yaml"
    config.write_text(
        f"package_name_override: {PACKAGE}\nproject_name_override: boxoffice-client\n"
        "post_hooks: []\n"
    )
    root = tmp_path / "pkg"
    result = _run(
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
    return root, result.stdout + result.stderr


@pytest.fixture
def generated_package(schema_file: Path, tmp_path: Path) -> Iterator[Path]:
    """``boxoffice_client`` generated from the schema; yields the directory that holds it."""
    root, _ = _generate(schema_file, tmp_path)
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
    assert visit.held.total == "37.50"
    assert visit.released.total == "25.00"
    assert visit.held.currency == "usd"
    assert visit.payment.client_secret

    rows = [row for row in report.results if row.showtime == scheduled.showtime.id]
    assert len(rows) == 1
    assert rows[0].sold == 0


def test_generation_is_warning_free_and_covers_every_operation(
    schema_file: Path, tmp_path: Path
) -> None:
    """openapi-python-client skips, with a warning, any operation it cannot type (it once
    skipped the ticket QR image): no warning, and a function for every operation."""
    root, output = _generate(schema_file, tmp_path)
    said = output.replace(str(tmp_path), "<tmp>")
    assert "warning" not in said.lower(), said
    assert "skipping" not in said.lower(), said
    assert said.strip() == "Generating <tmp>/pkg/boxoffice_client", said
    schema = json.loads(schema_file.read_text())
    operations = {
        op["operationId"]
        for path in schema["paths"].values()
        for method, op in path.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }
    generated = {module.stem for module in (root / PACKAGE / "api").glob("*/*.py")}
    assert "bookings_tickets_qr_retrieve" in generated
    assert operations <= generated, sorted(operations - generated)


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_reads_a_tickets_qr_image(
    generated_package: Path, live_server, showtime
) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from boxoffice.booking import services
    from boxoffice.catalog.models import Seat

    alice = make_user("alice")
    seats = list(Seat.objects.filter(screen_id=showtime.screen_id).values_list("pk", flat=True))
    booking = services.create_hold(user=alice, showtime=showtime, seat_ids=seats[:2])
    services.record_payment(booking=booking, amount=booking.total)  # as Stripe's webhook would

    with _flow().sign_in(live_server.url, "alice", PASSWORD) as customer:
        images = _flow().ticket_qrs(customer, booking.pk)

    assert len(images) == 2
    for png in images:
        image = Image.open(io.BytesIO(png))
        assert image.format == "PNG"


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_changes_a_password(generated_package: Path, live_server) -> None:  # type: ignore[no-untyped-def]
    make_user("alice")
    me = _flow().password_flow(live_server.url, "alice", PASSWORD, "a-brand-new-passphrase-42")
    assert me.username == "alice"


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_changes_the_language(generated_package: Path, live_server) -> None:  # type: ignore[no-untyped-def]
    make_user("alice")
    me = _flow().language_flow(live_server.url, "alice", PASSWORD)
    assert me.language.value == "de"


@pytest.mark.django_db(transaction=True)
def test_generated_python_client_joins_and_leaves_a_waitlist(
    generated_package: Path, live_server, make_showtime
) -> None:  # type: ignore[no-untyped-def]
    from tests.waitlist.helpers import sell_out

    make_user("alice")
    show = make_showtime()
    sell_out(show)
    with _flow().sign_in(live_server.url, "alice", PASSWORD) as client:
        entries = _flow().waitlist_flow(client, show.pk)
    assert [(entry.status, entry.position) for entry in entries] == [("left", None)]


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

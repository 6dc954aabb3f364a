"""Browser fixtures for the shop: Debian's chromium through Playwright (tests/admin), the
webhook, SMTP server and worker of tests/payments, and axe-core from tools/node (npm, pinned)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import book  # noqa: F401  (used by the tests)
from tests.conftest import PASSWORD
from tests.payments.conftest import smtp_server, stripe_webhook  # noqa: F401

AXE = (
    Path(__file__).resolve().parents[2]
    / "tools"
    / "node"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
# The session's chromium comes from tests/conftest.py; the SMTP server and webhook from
# tests/payments.

PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture
def new_page(chromium, live_server) -> Iterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """Pages in fresh browser contexts (each its own cookie jar: another customer)."""
    contexts = []
    threads = threading.active_count()

    def _new(viewport: dict[str, int] | None = None) -> Any:
        context = chromium.new_context(
            base_url=live_server.url, viewport=viewport or DESKTOP, timezone_id="UTC"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new
    for context in contexts:
        context.close()
    # The live server's seat-map streams end on their next write to a closed page (a heartbeat
    # every LIVE_HEARTBEAT_SECONDS): let them go before the test database does.
    deadline = time.monotonic() + 5
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)


def sign_in(page: Any, user: Any) -> None:
    """Sign a page's context in through the API, as the sign-in page would."""
    response = page.request.post(
        "/api/v1/auth/login/", data={"username": user.username, "password": PASSWORD}
    )
    assert response.ok, response.text()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{AXE} is missing: npm ci --prefix tools/node")
        pytest.skip(f"axe-core is missing ({AXE}): npm ci --prefix tools/node")
    return AXE.read_text()


def axe_violations(page: Any, source: str) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated by the driver: the page's CSP (no inline scripts) does not apply to it.
        page.evaluate(source)
    result = page.evaluate("async () => (await window.axe.run(document)).violations")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(autouse=True)
def _streams_notice_closed_pages(settings):  # type: ignore[no-untyped-def]
    """A seat-map stream learns that its page closed on its next write: write often."""
    settings.LIVE_HEARTBEAT_SECONDS = 0.5


@pytest.fixture(autouse=True)
def _fresh_throttles(django_db_blocker):  # type: ignore[no-untyped-def]
    """Sign-ins are throttled per address in the shared cache, which outlives a test's rows:
    each browser test starts with fresh counters."""
    from django.core.cache import cache

    with django_db_blocker.unblock():
        cache.clear()

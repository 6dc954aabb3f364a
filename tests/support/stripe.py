"""localstripe (the Stripe emulator) as a process, its paginated lists, and lost webhooks."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from typing import Any

import requests

from tests.support.net import closed_url, free_port, wait_for

AUTH = {"Authorization": "Bearer sk_test_x"}


def start_localstripe() -> tuple[subprocess.Popen, str]:
    """A localstripe from scratch on a free port; returns the process and its base URL once it
    answers."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError("localstripe exited")
        urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1).close()
        return True

    try:
        wait_for(up, timeout=20, what="localstripe", ignoring=(OSError,))
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc, base


def register_webhook(base: str, url: str, secret: str) -> None:
    """Point localstripe's one webhook (id ``boxoffice``) at ``url``."""
    response = requests.post(
        f"{base}/_config/webhooks/boxoffice", data={"url": url, "secret": secret}, timeout=5
    )
    response.raise_for_status()


def lose_webhooks(base: str, secret: str) -> None:
    """Make localstripe's deliveries go nowhere, as if every webhook were lost. localstripe has
    no way to unregister one, so our id is pointed at a closed port instead (an earlier test may
    have registered it). localstripe never retries a failed delivery."""
    register_webhook(base, closed_url("/lost/"), secret)


def localstripe_list(base: str, resource: str, **params: str) -> list[dict[str, Any]]:
    """Every object of a localstripe list endpoint (lists are paginated like Stripe's)."""
    items: list[dict[str, Any]] = []
    query: dict[str, str | int] = {"limit": 100, **params}
    while True:
        response = requests.get(f"{base}/v1/{resource}", params=query, headers=AUTH, timeout=10)
        response.raise_for_status()
        page = response.json()
        items.extend(page["data"])
        if not page.get("has_more") or not page["data"]:
            return items
        query["starting_after"] = page["data"][-1]["id"]

"""Who may open a stream, black box over HTTP: the same checks against the WSGI form (the test
server, test_seat_events.py) and the ASGI form (``scripts/serve``, test_serve.py). Clients
take their address from 127.0.0.0/8 (a server on 127.0.0.1 sees each as its own client)."""

from __future__ import annotations

import time

from tests.live.sse import Events
from tests.support.net import wait_for

# Last-Event-ID values that are no feed position: each must get a snapshot. Sent as raw bytes:
# UTF-8, and "²" also as its one Latin-1 byte (how WSGI servers and ASGI's latin-1 reading
# decode a header, it is then the character "²", which int() and str.isdigit() accept).
ODD_LAST_EVENT_IDS: list[bytes] = [
    "²".encode(),
    "²".encode("latin-1"),
    "\u0663".encode(),  # Arabic-Indic 3
    "\uff11\uff12".encode(),  # fullwidth 12
    b"-1",
    b"1e3",
    b"1" * 1000,
    b"",
]


def events_url(base: str, showtime_id: int) -> str:
    return f"{base}/api/v1/showtimes/{showtime_id}/seats/events/"


def open_streams(url: str, count: int, source: str, opened: list[Events]) -> list[Events]:
    """``count`` streams from ``source``, each served (its snapshot received)."""
    streams = []
    for _ in range(count):
        events = Events(url, source=source)
        opened.append(events)
        assert events.response.status == 200, events.refusal()
        assert events.wait_for(1)[0]["event"] == "snapshot"
        streams.append(events)
    return streams


def assert_refused(events: Events, code: str) -> None:
    status, body, retry_after = events.refusal()
    assert status == 429, body
    assert body["type"] == "client_error"
    assert [e["code"] for e in body["errors"]] == [code], body
    assert retry_after is not None
    assert int(retry_after) > 0


def check_the_cap(url: str, cap: int, opened: list[Events]) -> list[Events]:
    """``cap`` streams from one address are served, the next is a 429 ``too_many_streams``
    with Retry-After while another address is still served; hanging up one stream frees its
    slot. Returns the refused connects (their connections still open)."""
    held = open_streams(url, cap, "127.0.0.1", opened)
    refused = Events(url, source="127.0.0.1")
    opened.append(refused)
    assert_refused(refused, "too_many_streams")
    open_streams(url, 1, "127.0.0.2", opened)
    assert all(not events.ended for events in held)

    held[0].close()  # the server notices at once (ASGI) or at its next heartbeat (WSGI)
    again: list[Events] = []

    def admitted() -> bool:
        events = Events(url, source="127.0.0.1")
        opened.append(events)
        again.append(events)
        if events.response.status == 200:
            return True
        assert_refused(events, "too_many_streams")
        time.sleep(0.2)
        return False

    wait_for(admitted, timeout=10, what="a slot freed by the hang-up")
    assert again[-1].wait_for(1)[0]["event"] == "snapshot"
    still = Events(url, source="127.0.0.1")  # and the freed slot is taken again
    opened.append(still)
    assert_refused(still, "too_many_streams")
    return [refused, still]


def check_the_throttle(url: str, rate: int, opened: list[Events]) -> None:
    """Every connect counts against the address's rate (``rate`` per hour): connects that hang
    up at once are refused past it (429 ``throttled``, Retry-After); another address is not."""
    for events in open_streams(url, rate, "127.0.0.3", opened):
        events.close()
    refused = Events(url, source="127.0.0.3")
    opened.append(refused)
    assert_refused(refused, "throttled")
    assert int(refused.refusal()[2] or 0) <= 3600
    open_streams(url, 1, "127.0.0.4", opened)


def check_odd_last_event_ids(url: str, opened: list[Events]) -> None:
    for value in ODD_LAST_EVENT_IDS:
        events = Events(url, {"Last-Event-ID": value})
        opened.append(events)
        assert events.response.status == 200, (value, events.refusal())
        first = events.wait_for(1)[0]
        assert first["event"] == "snapshot", value
        assert first["id"] == str(first["data"]["version"])
        events.close()

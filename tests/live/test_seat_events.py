"""The live seat map over HTTP, as a browser's EventSource meets it (the WSGI form, served by
the test server): a snapshot first, a delta per change, resume with Last-Event-ID, lapses
announced although no request changed anything, heartbeats. The ASGI form and the crossing of
processes and hosts are tested in test_serve.py."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from boxoffice.booking import services
from boxoffice.booking.models import SeatChange
from tests.conftest import make_user
from tests.live import admission
from tests.live.sse import Events

pytestmark = pytest.mark.django_db(transaction=True)


def seat(showtime, label: str) -> int:  # type: ignore[no-untyped-def]
    return showtime.screen.seats.get(row=label[0], number=int(label[1:])).pk


@pytest.fixture
def open_stream(live_server, settings) -> Iterator:  # type: ignore[no-untyped-def]
    settings.LIVE_POLL_SECONDS = 0.05
    settings.LIVE_WSGI_STREAM_SECONDS = 20
    opened: list[Events] = []

    def _open(showtime, **headers: str) -> Events:  # type: ignore[no-untyped-def]
        events = Events(f"{live_server.url}/api/v1/showtimes/{showtime.pk}/seats/events/", headers)
        opened.append(events)
        return events

    yield _open
    for events in opened:
        events.close()


def test_snapshot_then_a_delta_per_change(open_stream, showtime, customer, other_customer):
    stream = open_stream(showtime)
    (snapshot,) = stream.wait_for(1)
    assert snapshot["event"] == "snapshot"
    assert snapshot["data"]["showtime"] == showtime.pk
    assert snapshot["id"] == str(snapshot["data"]["version"])
    assert len(snapshot["data"]["seats"]) == 20
    assert stream.response.getheader("Content-Type").startswith("text/event-stream")

    booking = services.create_hold(
        user=customer, showtime=showtime, seat_ids=[seat(showtime, "A1"), seat(showtime, "A2")]
    )
    held = stream.wait_for(2)[1]
    assert held["event"] == "seats"
    assert held["data"] == [
        {"id": seat(showtime, "A1"), "status": "held"},
        {"id": seat(showtime, "A2"), "status": "held"},
    ]
    services.record_payment(booking=booking, amount=booking.total)
    sold = stream.wait_for(3)[2]
    assert {s["status"] for s in sold["data"]} == {"booked"}
    assert int(snapshot["id"]) < int(held["id"]) < int(sold["id"])


def test_resume_with_last_event_id_gets_what_was_missed(open_stream, showtime, customer):
    services.create_hold(user=make_user("dave"), showtime=showtime, seat_ids=[seat(showtime, "A1")])
    first = open_stream(showtime)
    version = int(first.wait_for(1)[0]["id"])
    first.close()
    services.create_hold(user=customer, showtime=showtime, seat_ids=[seat(showtime, "C3")])
    services.create_hold(
        user=make_user("carol"), showtime=showtime, seat_ids=[seat(showtime, "C4")]
    )

    resumed = open_stream(showtime, **{"Last-Event-ID": str(version)})
    (missed,) = resumed.wait_for(1)
    assert missed["event"] == "seats"
    assert missed["data"] == [
        {"id": seat(showtime, "C3"), "status": "held"},
        {"id": seat(showtime, "C4"), "status": "held"},
    ]
    assert int(missed["id"]) == SeatChange.objects.latest("pk").pk


@pytest.mark.parametrize("last_event_id", ["999999999", "0", "junk"])
def test_an_unknown_position_gets_a_new_snapshot(open_stream, showtime, last_event_id):
    stream = open_stream(showtime, **{"Last-Event-ID": last_event_id})
    assert stream.wait_for(1)[0]["event"] == "snapshot"


def test_a_lapsing_hold_is_announced_without_any_request(open_stream, showtime, customer, settings):
    settings.BOOKING_HOLD_SECONDS = 1
    stream = open_stream(showtime)
    stream.wait_for(1)
    services.create_hold(user=customer, showtime=showtime, seat_ids=[seat(showtime, "D5")])
    held_at = time.monotonic()
    events = stream.wait_for(3, timeout=5)
    assert events[1]["data"] == [{"id": seat(showtime, "D5"), "status": "held"}]
    assert events[2]["data"] == [{"id": seat(showtime, "D5"), "status": "available"}]
    assert time.monotonic() - held_at < 1 + 2  # within 2 s of its expiry


def test_heartbeats_keep_a_quiet_stream_open(open_stream, showtime, settings):
    settings.LIVE_HEARTBEAT_SECONDS = 0.2
    stream = open_stream(showtime)
    stream.wait_for(1)
    deadline = time.monotonic() + 5
    while stream.comments < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stream.comments >= 2


def test_unknown_show_is_a_404(live_server):
    response = requests.get(f"{live_server.url}/api/v1/showtimes/999999/seats/events/", timeout=5)
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_a_cancelled_show_tells_its_listeners(open_stream, showtime, customer, admin_api):
    services.create_hold(user=customer, showtime=showtime, seat_ids=[seat(showtime, "B2")])
    stream = open_stream(showtime)
    stream.wait_for(1)
    assert stream.statuses()[seat(showtime, "B2")] == "held"  # the snapshot, before the cancel
    from boxoffice.schedule.services import cancel_showtime

    cancel_showtime(showtime=showtime, reason="Storm")
    # the sweep announces the whole map once (a new snapshot) or the freed seats (a delta); the
    # stream's reader may already have it (each live-server thread has its own connection)
    stream.wait_for(2)
    stream.wait_until(
        lambda: stream.statuses()[seat(showtime, "B2")] == "available", 10, "the freed seat"
    )


def test_an_eventsource_accept_header_is_served(live_server, showtime, settings):
    """A browser's EventSource sends only ``Accept: text/event-stream``."""
    # A stream that ends right after its snapshot: read whole, no thread left polling.
    settings.LIVE_WSGI_STREAM_SECONDS = 0
    response = requests.get(
        f"{live_server.url}/api/v1/showtimes/{showtime.pk}/seats/events/",
        headers={"Accept": "text/event-stream"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert "event: snapshot" in response.text
    missing = requests.get(
        f"{live_server.url}/api/v1/showtimes/999999/seats/events/",
        headers={"Accept": "text/event-stream"},
        timeout=10,
    )
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "not_found"


@pytest.fixture
def opened(settings) -> Iterator[list[Events]]:  # type: ignore[no-untyped-def]
    """Streams a test opened (closed after it), with no stream leases or throttle counts left
    by earlier tests: the cache table is not emptied between tests, nor this process's
    batched throttle counts (see booking.api.seatmap)."""
    from django.core.cache import cache

    from boxoffice.booking.api import seatmap

    settings.LIVE_POLL_SECONDS = 0.05
    settings.LIVE_HEARTBEAT_SECONDS = 0.2  # a hang-up is noticed at the next write
    cache.clear()
    seatmap._BATCHES.window = None
    streams: list[Events] = []
    yield streams
    for events in streams:
        events.close()


def test_one_address_holds_at_most_its_cap_of_streams(live_server, showtime, settings, opened):
    settings.LIVE_MAX_STREAMS_PER_CLIENT = 3
    admission.check_the_cap(admission.events_url(live_server.url, showtime.pk), 3, opened)


def test_every_connect_counts_against_the_address_rate(live_server, showtime, settings, opened):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon": "4/hour",
        },
    }
    admission.check_the_throttle(admission.events_url(live_server.url, showtime.pk), 4, opened)


def test_a_last_event_id_that_is_no_plain_number_gets_a_snapshot(live_server, showtime, opened):
    admission.check_odd_last_event_ids(admission.events_url(live_server.url, showtime.pk), opened)

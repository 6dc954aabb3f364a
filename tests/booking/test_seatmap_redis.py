"""The seat map and the throttles on Redis, the production cache: the one-round-trip path
(fixed-window INCR + the version tokens in one pipeline) that the database cache never takes."""

from __future__ import annotations

import contextvars
import time

import pytest
from django.core.cache import caches

from boxoffice.booking.services import create_hold, expire_bookings
from tests.support.workers import redis_url

REDIS_URL = redis_url()  # a database of this xdist worker's own


@pytest.fixture
def redis_cache(settings):  # type: ignore[no-untyped-def]
    settings.CACHES = {
        "default": {"BACKEND": "boxoffice.core.cache.RedisCache", "LOCATION": REDIS_URL}
    }  # the backend CACHE_URL=redis://... configures
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


def statuses(api, showtime) -> list[str]:  # type: ignore[no-untyped-def]
    response = api.get(f"/api/v1/showtimes/{showtime.id}/seats/")
    assert response.status_code == 200, response.content
    return [seat["status"] for seat in response.json()["seats"]]


def test_seat_map_on_redis_shows_every_change(redis_cache, api, showtime, customer, settings):
    assert set(statuses(api, showtime)) == {"available"}
    assert set(statuses(api, showtime)) == {"available"}  # served from cache

    settings.BOOKING_HOLD_SECONDS = 1
    seat_ids = list(showtime.screen.seats.order_by("id").values_list("id", flat=True)[:2])
    create_hold(user=customer, showtime=showtime, seat_ids=seat_ids)
    assert statuses(api, showtime)[:2] == ["held", "held"]
    assert statuses(api, showtime)[:2] == ["held", "held"]  # cached, with the hold's end

    # The lapse needs no write to show: the cached map knew when its first hold ends.
    time.sleep(1.1)
    assert statuses(api, showtime)[:2] == ["available", "available"]
    expire_bookings()
    assert statuses(api, showtime)[:2] == ["available", "available"]


def test_anonymous_seat_map_reads_are_throttled_per_address_on_redis(
    redis_cache, api, showtime, settings
):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], anon="3/hour")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    url = f"/api/v1/showtimes/{showtime.id}/seats/"
    assert [api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    throttled = api.get(url)
    assert throttled.status_code == 429
    assert 0 < int(throttled["Retry-After"]) <= 3600
    other_address = api.get(url, REMOTE_ADDR="10.9.8.7")
    assert other_address.status_code == 200


def test_signed_in_requests_are_throttled_per_user_on_redis(redis_cache, customer_api, settings):
    rates = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], user="2/hour")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    codes = [customer_api.get("/api/v1/bookings/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_requests_in_new_contexts_share_one_redis_connection(redis_cache):
    """Under scripts/serve every request of the sync API starts in a new context, where Django
    makes a new cache backend: fifty such requests still use one connection, not fifty."""

    def one_request(n: int):  # type: ignore[no-untyped-def]
        backend = caches["default"]
        backend.set(f"k{n}", n)
        assert backend.get(f"k{n}") == n
        return backend

    backends = [contextvars.Context().run(one_request, n) for n in range(50)]
    assert len({id(b) for b in backends}) == 50  # Django's per-context backends
    assert len({id(b._cache) for b in backends}) == 1
    (pool,) = backends[0]._cache._pools.values()
    assert pool._created_connections == 1

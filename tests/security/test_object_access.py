"""Object-level access: a customer never reaches another customer's object, nor an admin one.

The object routes are read from the URL resolver, with every method each one maps, so a new
action on an existing resource is covered without touching this file; a new resource with
object routes fails ``test_every_object_route_is_classified`` until it is given a rule here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from boxoffice.accounts.models import Role, User
from boxoffice.booking.models import Booking, Ticket
from boxoffice.booking.services import record_payment
from boxoffice.catalog.models import Seat
from boxoffice.core.models import IdempotencyKey
from tests.conftest import bearer, make_user
from tests.payments.helpers import confirmed_booking, hold

from .helpers import assert_error, booking_state, user_state

pytestmark = pytest.mark.django_db

UNSAFE = {"post", "put", "patch", "delete"}


@dataclass(frozen=True)
class ObjectRoute:
    route: str  # "api/v1/bookings/<str:pk>/cancel/"
    resource: str  # "bookings"
    method: str  # "post"

    def url(self, pk: int) -> str:
        """The route for booking ``pk``; a ticket code in the route is that booking's first
        ticket's (a made-up one when it has none, which is a 404 for anyone)."""
        path = "/" + re.sub(r"<[^>]+>", str(pk), self.route, count=1)
        if "<str:code>" in path:
            code = (
                Ticket.objects.filter(booking_seat__booking_id=pk)
                .values_list("code", flat=True)
                .first()
            )
            path = path.replace("<str:code>", code or "BX-NONE-NONE")
        return path

    def __str__(self) -> str:
        return f"{self.method.upper()} /{self.route}"


def _walk(patterns: list, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> list[str]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    if actions:  # a ViewSet route: exactly the methods the router mapped
        return sorted(actions)
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return ["get"]
    return sorted(
        m
        for m in view.http_method_names
        if m not in {"options", "head", "trace"} and hasattr(view, m)
    )


def object_routes() -> list[ObjectRoute]:
    """Every (route, method) under /api/v1/ whose path names one object."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/") or "<" not in route:
            continue
        resource = route.removeprefix("api/v1/").split("/")[0]
        found.extend(ObjectRoute(route, resource, m) for m in _methods(pattern))
    return found


ROUTES = object_routes()
# Resources whose objects belong to one customer: others get 404 (existence is not revealed).
OWNED = {"bookings"}
# Resources only administrators may touch at all: customers get 403, anonymous 401.
ADMIN_ONLY = {"users"}
# Shared catalog and schedule: anyone reads, only administrators write.
PUBLIC_READ_ADMIN_WRITE = {"genres", "movies", "theaters", "screens", "showtimes"}
# A customer's waitlist entries: others get 404 (tested below).
OWNED_ENTRIES = {"waitlist"}
# Writes on a shared object that any signed-in customer may make, each tested where it lives
# (joining a show's waitlist: tests/waitlist); anonymous callers get 401 (tested below).
CUSTOMER_ACTIONS = {"POST /api/v1/showtimes/<int:showtime_id>/waitlist/"}


def routes_of(kinds: set[str]) -> list[ObjectRoute]:
    return [r for r in ROUTES if r.resource in kinds and str(r) not in CUSTOMER_ACTIONS]


def test_every_object_route_is_classified():
    known = OWNED | ADMIN_ONLY | PUBLIC_READ_ADMIN_WRITE | OWNED_ENTRIES
    unknown = sorted({str(r) for r in ROUTES if r.resource not in known})
    assert not unknown, f"object routes without an access rule in this file: {unknown}"
    # and the resolver walk itself sees the routes the contract names
    names = {str(r) for r in ROUTES}
    for expected in (
        "GET /api/v1/bookings/<str:pk>/",
        "POST /api/v1/bookings/<str:pk>/cancel/",
        "POST /api/v1/bookings/<int:pk>/pay/",
        "GET /api/v1/users/<str:pk>/",
        "POST /api/v1/users/<str:pk>/promote/",
        *CUSTOMER_ACTIONS,
    ):
        assert expected in names, sorted(names)


# --- Another customer's bookings ----------------------------------------------------------------


@pytest.fixture
def bobs_bookings(other_customer, showtime) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """One pending and one confirmed (paid) booking of Bob's."""
    client = bearer(other_customer)
    pending = hold(client, showtime, n=2)
    confirmed = confirmed_booking(client, showtime, n=2)
    assert confirmed["status"] == "confirmed"
    return {"pending": pending["id"], "confirmed": confirmed["id"]}


@pytest.mark.parametrize("state", ["pending", "confirmed"])
@pytest.mark.parametrize("route", routes_of(OWNED), ids=str)
def test_another_customers_booking_is_404_and_unchanged(customer_api, bobs_bookings, route, state):
    booking_id = bobs_bookings[state]
    before = booking_state(booking_id)
    call = getattr(customer_api, route.method)
    response = call(route.url(booking_id), {}, format="json")
    if route.method in {"put", "patch", "delete"} and response.status_code == 405:
        pass  # not a method this route offers; what matters is that nothing changed
    else:
        body = assert_error(response, 404)
        assert body["errors"][0]["code"] == "not_found"
    content = response.content.decode()
    assert "client_secret" not in content
    assert "secret_" not in content
    assert booking_state(booking_id) == before


@pytest.mark.parametrize("route", routes_of(OWNED), ids=str)
def test_another_customers_booking_is_404_even_with_an_idempotency_key(
    customer_api, other_customer, bobs_bookings, route
):
    """Bob's key stored for this very request must not replay Bob's answer to Alice."""
    booking_id = bobs_bookings["pending"]
    if route.method in UNSAFE:
        bob = bearer(other_customer)
        key = {"HTTP_IDEMPOTENCY_KEY": "shared-key"}
        IdempotencyKey.objects.filter(key="shared-key").delete()
        first = getattr(bob, route.method)(route.url(booking_id), {}, format="json", **key)
        assert first.status_code < 500
        before = booking_state(booking_id)
        response = getattr(customer_api, route.method)(
            route.url(booking_id), {}, format="json", **key
        )
        assert_error(response, 404)
        assert "Idempotent-Replayed" not in response
        assert booking_state(booking_id) == before
    else:
        response = getattr(customer_api, route.method)(route.url(booking_id))
        assert_error(response, 404)


@pytest.mark.parametrize("route", routes_of(OWNED), ids=str)
def test_owner_reaches_their_own_booking(customer, customer_api, showtime, route):
    """The 404s above are about ownership, not a broken route."""
    booking = hold(customer_api, showtime, n=1)
    if "tickets" in route.route:  # a ticket's QR code: the booking must be paid
        row = Booking.objects.get(pk=booking["id"])
        record_payment(booking=row, amount=row.total)
    if route.route.endswith("exchange/"):
        # An exchange needs its new seats, and this booking is only held: the owner gets the
        # rule's 409, not the 404 another customer gets.
        seat = Seat.objects.filter(screen_id=showtime.screen_id).order_by("-pk").first()
        body = {"showtime": showtime.pk, "seats": [seat.pk]}
        response = customer_api.post(route.url(booking["id"]), body, format="json")
        assert response.status_code == 409, response.content
        assert response.json()["errors"][0]["code"] == "not_confirmed"
        return
    response = getattr(customer_api, route.method)(route.url(booking["id"]), {}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("route", routes_of(OWNED), ids=str)
def test_anonymous_gets_401_on_bookings(api, bobs_bookings, route):
    booking_id = bobs_bookings["pending"]
    before = booking_state(booking_id)
    assert_error(getattr(api, route.method)(route.url(booking_id), {}, format="json"), 401)
    assert booking_state(booking_id) == before


def test_another_customers_bookings_never_appear_in_lists(
    customer_api, other_customer, bobs_bookings
):
    for query in ({}, {"user": other_customer.pk}, {"status": "confirmed"}, {"page_size": 100}):
        response = customer_api.get("/api/v1/bookings/", query)
        assert response.status_code == 200
        assert response.json()["results"] == [], query
    assert Booking.objects.filter(user=other_customer).count() == 2


# --- Administrator-only object routes -------------------------------------------------------------


@pytest.mark.parametrize("route", routes_of(ADMIN_ONLY), ids=str)
def test_admin_only_object_routes_are_403_for_customers_and_change_nothing(
    customer_api, customer, other_customer, route
):
    for target in (customer, other_customer):
        before = user_state(target.pk)
        call = getattr(customer_api, route.method)
        assert_error(call(route.url(target.pk), {}, format="json"), 403)
        assert user_state(target.pk) == before
        assert User.objects.get(pk=target.pk).role == Role.CUSTOMER


@pytest.mark.parametrize("route", routes_of(ADMIN_ONLY), ids=str)
def test_admin_only_object_routes_are_401_for_anonymous(api, other_customer, route):
    before = user_state(other_customer.pk)
    assert_error(getattr(api, route.method)(route.url(other_customer.pk), {}, format="json"), 401)
    assert user_state(other_customer.pk) == before


@pytest.mark.parametrize("route", routes_of(ADMIN_ONLY), ids=str)
def test_admin_only_object_routes_do_work_for_admins(admin_api, other_customer, route):
    response = getattr(admin_api, route.method)(route.url(other_customer.pk), {}, format="json")
    assert response.status_code == 200, response.content


# --- Catalog and schedule: customers read, never write ----------------------------------------


@pytest.fixture
def catalog_ids(movie, screen, showtime) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {
        "genres": movie.genres.get().pk,
        "movies": movie.pk,
        "theaters": screen.theater_id,
        "screens": screen.pk,
        "showtimes": showtime.pk,
    }


def _catalog_snapshot() -> dict[str, list[dict]]:
    from boxoffice.catalog.models import Genre, Movie, Screen, Seat, Theater
    from boxoffice.schedule.models import Showtime

    return {
        model.__name__: list(model.objects.order_by("pk").values())
        for model in (Genre, Movie, Theater, Screen, Seat, Showtime)
    }


@pytest.mark.parametrize("route", routes_of(PUBLIC_READ_ADMIN_WRITE), ids=str)
def test_customers_cannot_write_catalog_objects(customer_api, catalog_ids, route):
    before = _catalog_snapshot()
    pk = catalog_ids[route.resource]
    body = {"name": "Hijacked", "title": "Hijacked", "rows": 1, "seats_per_row": 1}
    response = getattr(customer_api, route.method)(route.url(pk), body, format="json")
    if route.method in UNSAFE:
        assert_error(response, 403)
    else:
        assert response.status_code == 200, response.content
    assert _catalog_snapshot() == before


def test_a_customer_cannot_become_admin_by_any_object_route(customer, customer_api, catalog_ids):
    """Every object route, every method, aimed at the customer's own user id."""
    for route in ROUTES:
        getattr(customer_api, route.method)(
            route.url(customer.pk), {"role": "admin"}, format="json"
        )
    customer.refresh_from_db()
    assert customer.role == Role.CUSTOMER
    assert not customer.is_staff
    assert not customer.is_superuser


def test_promoting_requires_an_admin_even_for_a_freshly_promoted_token_holder(customer):
    """A token minted while the user was a customer carries no role: the role is read from the
    database on each request, so a demotion or promotion takes effect at once."""
    client = bearer(customer)
    victim = make_user("carol")
    assert_error(client.post(f"/api/v1/users/{victim.pk}/promote/"), 403)
    customer.role = Role.ADMIN
    customer.save(update_fields=["role"])
    assert client.post(f"/api/v1/users/{victim.pk}/promote/").status_code == 200
    customer.role = Role.CUSTOMER
    customer.save(update_fields=["role"])
    other = make_user("dave")
    assert_error(client.post(f"/api/v1/users/{other.pk}/promote/"), 403)
    assert User.objects.get(pk=other.pk).role == Role.CUSTOMER


# --- Waitlist entries and joining -----------------------------------------------------------------


@pytest.fixture
def bobs_entry(other_customer, showtime) -> int:  # type: ignore[no-untyped-def]
    from boxoffice.waitlist.models import WaitlistEntry

    return WaitlistEntry.objects.create(user=other_customer, showtime=showtime, quantity=2).pk


def _entry_state(pk: int) -> dict:
    from boxoffice.waitlist.models import WaitlistEntry

    return WaitlistEntry.objects.filter(pk=pk).values().get()


@pytest.mark.parametrize("route", routes_of(OWNED_ENTRIES), ids=str)
def test_another_customers_waitlist_entry_is_404_and_unchanged(customer_api, bobs_entry, route):
    before = _entry_state(bobs_entry)
    response = getattr(customer_api, route.method)(route.url(bobs_entry), {}, format="json")
    assert assert_error(response, 404)["errors"][0]["code"] == "not_found"
    assert _entry_state(bobs_entry) == before


@pytest.mark.parametrize("route", routes_of(OWNED_ENTRIES), ids=str)
def test_anonymous_gets_401_on_waitlist_entries(api, bobs_entry, route):
    before = _entry_state(bobs_entry)
    assert_error(getattr(api, route.method)(route.url(bobs_entry), {}, format="json"), 401)
    assert _entry_state(bobs_entry) == before


@pytest.mark.parametrize("route", routes_of(OWNED_ENTRIES), ids=str)
def test_owner_reaches_their_own_waitlist_entry(other_customer, bobs_entry, route):
    response = getattr(bearer(other_customer), route.method)(route.url(bobs_entry))
    assert response.status_code < 300, response.content


@pytest.mark.parametrize("action", sorted(CUSTOMER_ACTIONS))
def test_anonymous_gets_401_on_customer_actions(api, showtime, action):
    from boxoffice.waitlist.models import WaitlistEntry

    method, route = action.split(" ", 1)
    path = re.sub(r"<[^>]+>", str(showtime.pk), route, count=1)
    assert_error(getattr(api, method.lower())(path, {"quantity": 1}, format="json"), 401)
    assert not WaitlistEntry.objects.exists()

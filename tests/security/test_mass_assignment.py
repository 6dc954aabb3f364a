"""Mass assignment: fields a client must not set are ignored, or the route does not exist."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from boxoffice.accounts.models import Role, User
from boxoffice.booking.models import Booking, BookingStatus
from tests.conftest import PASSWORD, bearer

from .helpers import BOOKINGS, ME, TOKEN, assert_error, booking_state, user_state

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register/"

PRIVILEGED_USER_FIELDS = {
    "id": 999_999,
    "role": "admin",
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "last_login": "2000-01-01T00:00:00Z",
    "date_joined": "2000-01-01T00:00:00Z",
    "groups": [1],
    "user_permissions": [1],
}


@pytest.mark.parametrize("fmt", ["json", "multipart"])
def test_register_ignores_every_privileged_field(api, fmt):
    data = {"username": "mallory", "email": "mallory@example.com", "password": PASSWORD}
    data |= PRIVILEGED_USER_FIELDS
    if fmt == "multipart":
        data = {k: str(v) if not isinstance(v, list) else v for k, v in data.items()}
    response = api.post(REGISTER, data, format=fmt)
    if fmt == "multipart":
        # Request bodies are JSON only (multipart is for poster uploads): nothing is read.
        assert response.status_code == 415, response.content
        assert not User.objects.filter(username="mallory").exists()
        return
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "customer"
    user = User.objects.get(username="mallory")
    assert user.pk != 999_999
    assert body["id"] == user.pk
    assert user.role == Role.CUSTOMER
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.is_admin
    assert user.last_login is None
    assert user.date_joined > timezone.now() - timedelta(minutes=1)
    assert not user.groups.exists()
    assert not user.user_permissions.exists()
    # the stored password is a hash of what was sent, never the raw value
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD)


def test_register_cannot_store_a_ready_made_password_hash(api):
    """A password that looks like a Django hash is hashed like any other string."""
    forged = "md5$salt$" + "0" * 32
    response = api.post(
        REGISTER,
        {"username": "hasher", "email": "hasher@example.com", "password": forged},
        format="json",
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(username="hasher")
    assert user.password != forged
    assert user.check_password(forged)


# --- Bookings: prices and state come from the server ----------------------------------------------


def _server_prices(api, showtime, count: int) -> tuple[list[int], Decimal]:  # type: ignore[no-untyped-def]
    seats = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"]
    chosen = [s for s in seats if s["status"] == "available"][:count]
    return [s["id"] for s in chosen], sum((Decimal(s["price"]) for s in chosen), Decimal("0"))


def test_booking_create_ignores_client_supplied_money_state_and_owner(
    api, customer, customer_api, admin_user, other_customer, showtime, localstripe
):
    seat_ids, expected_total = _server_prices(api, showtime, 3)
    assert expected_total > Decimal("1.00")
    forged = {
        "showtime": showtime.pk,
        "seats": seat_ids,
        "id": 424242,
        "status": "confirmed",
        "total": "0.01",
        "price": "0.01",
        "currency": "jpy",
        "user": other_customer.pk,
        "user_id": other_customer.pk,
        "paid_amount": "999.00",
        "refunded_amount": "5.00",
        "expires_at": "2099-01-01T00:00:00Z",
        "payment_intent_id": "pi_forged",
        "payment_client_secret": "pi_forged_secret_x",
        "confirmed_at": "2000-01-01T00:00:00Z",
        "tickets": [{"seat": "A1", "code": "FORGED"}],
        "price_policy": 1,
    }
    before = timezone.now()
    response = customer_api.post(BOOKINGS, forged, format="json")
    assert response.status_code == 201, response.content
    body = response.json()

    booking = Booking.objects.get(pk=body["id"])
    assert booking.pk != 424242
    assert booking.user_id == customer.pk
    assert booking.status == BookingStatus.PENDING
    assert body["status"] == "pending"
    assert booking.total == expected_total
    assert Decimal(body["total"]) == expected_total
    assert booking.currency == settings.DEFAULT_CURRENCY == body["currency"]
    assert booking.paid_amount == Decimal("0.00")
    assert booking.refunded_amount == Decimal("0.00")
    assert booking.confirmed_at is None
    hold = timedelta(seconds=settings.BOOKING_HOLD_SECONDS)
    assert before + hold - timedelta(seconds=5) <= booking.expires_at <= timezone.now() + hold
    assert booking.payment_intent_id == ""  # a hold never calls the provider
    assert booking.payment_client_secret == ""
    assert body["payment"] is None
    assert body["tickets"] == []
    assert sorted(s["id"] for s in body["seats"]) == sorted(seat_ids)

    # Proceeding to pay, with forged fields in the body too: they are ignored.
    paid = customer_api.post(f"{BOOKINGS}{booking.pk}/pay/", forged, format="json")
    assert paid.status_code == 200, paid.content
    assert "pi_forged" not in paid.json()["client_secret"]
    booking.refresh_from_db()
    assert booking.payment_intent_id.startswith("pi_")
    assert booking.payment_intent_id != "pi_forged"
    assert booking.status == BookingStatus.PENDING
    assert booking.total == expected_total
    assert booking.paid_amount == Decimal("0.00")
    # and the provider was asked for the server's total, in minor units
    intent = requests.get(
        f"{localstripe}/v1/payment_intents/{booking.payment_intent_id}",
        headers={"Authorization": "Bearer sk_test_x"},
        timeout=5,
    ).json()
    assert intent["amount"] == int(expected_total * 100)
    assert intent["currency"] == settings.DEFAULT_CURRENCY
    # nobody else got a booking
    assert not Booking.objects.filter(user__in=[other_customer, admin_user]).exists()


def test_seats_with_client_prices_are_refused(customer_api, showtime):
    seats = customer_api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"]
    seat_ids = [{"id": s["id"], "price": "0.01"} for s in seats[:2]]
    response = customer_api.post(
        BOOKINGS, {"showtime": showtime.pk, "seats": seat_ids}, format="json"
    )
    assert_error(response, 400)
    assert not Booking.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_bookings_cannot_be_rewritten(customer_api, admin_api, showtime, method):
    booking = customer_api.post(
        BOOKINGS,
        {
            "showtime": showtime.pk,
            "seats": [
                customer_api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()["seats"][0]["id"]
            ],
        },
        format="json",
    ).json()
    before = booking_state(booking["id"])
    body = {"status": "confirmed", "total": "0.01", "paid_amount": "10.00", "seats": []}
    for client in (customer_api, admin_api):
        response = getattr(client, method)(f"{BOOKINGS}{booking['id']}/", body, format="json")
        assert_error(response, 405)
        # nor on the collection
        response = getattr(client, method)(BOOKINGS, body, format="json")
        assert_error(response, 405)
    assert booking_state(booking["id"]) == before


# --- Users cannot make themselves admins --------------------------------------------------------------


@pytest.mark.parametrize("method", ["put", "patch", "post", "delete"])
def test_me_cannot_be_written(customer, customer_api, method):
    """PATCH changes the user's language only (docs/api.md): anything else sent is refused by
    name; the other methods do not exist."""
    before = user_state(customer.pk)
    response = getattr(customer_api, method)(
        ME, {"role": "admin", "is_staff": True, "is_superuser": True}, format="json"
    )
    assert_error(response, 400 if method == "patch" else 405)
    if method == "patch":
        refused = {(e["attr"], e["code"]) for e in response.json()["errors"]}
        assert refused == {(n, "read_only") for n in ("role", "is_staff", "is_superuser")}
        with_language = customer_api.patch(ME, {"language": "de", "role": "admin"}, format="json")
        assert_error(with_language, 400)
    assert user_state(customer.pk) == before


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_users_route_has_no_write_methods(customer, customer_api, admin_api, method):
    before = user_state(customer.pk)
    data = {"role": "admin", "is_staff": True, "is_superuser": True}
    # a customer is refused before the method is even considered
    refused = getattr(customer_api, method)(f"/api/v1/users/{customer.pk}/", data, format="json")
    assert_error(refused, 403)
    # an administrator learns that the route does not exist
    assert_error(
        getattr(admin_api, method)(f"/api/v1/users/{customer.pk}/", data, format="json"), 405
    )
    assert user_state(customer.pk) == before


def test_users_cannot_be_created_through_the_users_route(customer_api, admin_api):
    data = {"username": "eve", "email": "eve@example.com", "password": PASSWORD, "role": "admin"}
    assert_error(customer_api.post("/api/v1/users/", data, format="json"), 403)
    assert_error(admin_api.post("/api/v1/users/", data, format="json"), 405)
    assert not User.objects.filter(username="eve").exists()


def test_promote_ignores_its_body(admin_api, customer):
    """The promote action takes no body: it cannot be used to set other fields."""
    response = admin_api.post(
        f"/api/v1/users/{customer.pk}/promote/",
        {"username": "renamed", "is_superuser": True, "email": "x@example.com"},
        format="json",
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.username == "alice"
    assert customer.email == "alice@example.com"
    assert not customer.is_superuser


def test_token_body_cannot_pick_the_user(customer, other_customer, api):
    """Extra claims in the credentials body do not end up in the token."""
    response = api.post(
        TOKEN,
        {"username": "alice", "password": PASSWORD, "user_id": other_customer.pk, "role": "admin"},
        format="json",
    )
    assert response.status_code == 200
    client = bearer(customer)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    me = client.get(ME).json()
    assert me["id"] == customer.pk
    assert me["role"] == "customer"

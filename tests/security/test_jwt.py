"""JWT tampering: every forged, stale or misused token is a 401 that reveals nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from boxoffice.accounts.models import User
from tests.conftest import bearer, make_user
from tests.payments.helpers import hold

from .helpers import BOOKINGS, ME, REFRESH, assert_error

pytestmark = pytest.mark.django_db

KEY = settings.SIMPLE_JWT["SIGNING_KEY"]


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def claims(user: User) -> dict:
    """The claims of a genuine, fresh access token for ``user``."""
    return dict(AccessToken.for_user(user).payload)


# Each forger takes the victim and the attacker (whose own genuine token the attacker holds)
# and returns the token string to present.
Forger = Callable[[User, User], str]


def alg_none(victim: User, attacker: User) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(victim))}."


def alg_none_capitalised(victim: User, attacker: User) -> str:
    return f"{_b64({'alg': 'None', 'typ': 'JWT'})}.{_b64(claims(victim))}."


def alg_none_with_a_signature(victim: User, attacker: User) -> str:
    genuine = str(AccessToken.for_user(attacker))
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims(victim))}.{genuine.split('.')[2]}"


def wrong_key(victim: User, attacker: User) -> str:
    return jwt.encode(claims(victim), "not-the-signing-key-" * 3, algorithm="HS256")


def other_algorithm_same_key(victim: User, attacker: User) -> str:
    """Even the real key is only accepted with the configured algorithm."""
    return jwt.encode(claims(victim), KEY, algorithm="HS512")


def expired(victim: User, attacker: User) -> str:
    token = AccessToken.for_user(victim)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return str(token)


def without_expiry(victim: User, attacker: User) -> str:
    payload = claims(victim)
    del payload["exp"]
    return jwt.encode(payload, KEY, algorithm="HS256")


def refresh_as_access(victim: User, attacker: User) -> str:
    return str(RefreshToken.for_user(victim))


def user_id_edited(victim: User, attacker: User) -> str:
    """The attacker's genuine token with its user_id changed and the signature kept."""
    header, payload, signature = _parts(str(AccessToken.for_user(attacker)))
    payload["user_id"] = str(victim.pk) if isinstance(payload["user_id"], str) else victim.pk
    return f"{_b64(header)}.{_b64(payload)}.{signature}"


def type_edited(victim: User, attacker: User) -> str:
    """A genuine refresh token relabelled as an access token, signature kept."""
    header, payload, signature = _parts(str(RefreshToken.for_user(victim)))
    payload["token_type"] = "access"
    return f"{_b64(header)}.{_b64(payload)}.{signature}"


def expiry_edited(victim: User, attacker: User) -> str:
    header, payload, signature = _parts(expired(victim, attacker))
    payload["exp"] += 10 * 365 * 24 * 3600
    return f"{_b64(header)}.{_b64(payload)}.{signature}"


def truncated_signature(victim: User, attacker: User) -> str:
    return str(AccessToken.for_user(victim))[:-4]


FORGERS: list[Forger] = [
    alg_none,
    alg_none_capitalised,
    alg_none_with_a_signature,
    wrong_key,
    other_algorithm_same_key,
    expired,
    without_expiry,
    refresh_as_access,
    user_id_edited,
    type_edited,
    expiry_edited,
    truncated_signature,
]


def assert_401_and_nothing(response, *secrets: str) -> None:  # type: ignore[no-untyped-def]
    body = assert_error(response, 401)
    text = response.content.decode()
    for secret in secrets:
        assert secret not in text, (secret, body)
    assert "results" not in body


@pytest.fixture
def victim_with_booking(customer, showtime) -> User:  # type: ignore[no-untyped-def]
    hold(bearer(customer), showtime, n=1)
    return customer


@pytest.mark.parametrize("forge", FORGERS, ids=lambda f: f.__name__)
def test_forged_bearer_token_is_401(victim_with_booking, other_customer, forge):
    token = forge(victim_with_booking, other_customer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_401_and_nothing(client.get(ME), "alice@example.com", "bob@example.com")
    assert_401_and_nothing(client.get(BOOKINGS), "client_secret")


@pytest.mark.parametrize("forge", FORGERS, ids=lambda f: f.__name__)
def test_forged_cookie_token_is_401(victim_with_booking, other_customer, forge):
    client = APIClient(enforce_csrf_checks=True)
    client.cookies["access_token"] = forge(victim_with_booking, other_customer)
    assert_401_and_nothing(client.get(ME), "alice@example.com", "bob@example.com")
    assert_401_and_nothing(client.get(BOOKINGS), "client_secret")


def test_the_genuine_tokens_work(victim_with_booking, other_customer):
    """The forgeries above fail for being forged, not because the route is broken."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(victim_with_booking)}")
    assert client.get(ME).json()["username"] == "alice"
    assert client.get(BOOKINGS).json()["count"] == 1
    cookie = APIClient()
    cookie.cookies["access_token"] = str(AccessToken.for_user(victim_with_booking))
    assert cookie.get(ME).json()["username"] == "alice"


@pytest.mark.parametrize("state", ["deleted", "inactive"])
def test_token_of_a_deleted_or_inactive_user_is_401(api, state):
    user = make_user("ghost")
    access = str(AccessToken.for_user(user))
    refresh = str(RefreshToken.for_user(user))
    if state == "deleted":
        user.delete()
    else:
        User.objects.filter(pk=user.pk).update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert_401_and_nothing(client.get(ME), "ghost")
    cookie = APIClient()
    cookie.cookies["access_token"] = access
    assert_401_and_nothing(cookie.get(ME), "ghost")
    # nor can the refresh token mint a new access token
    response = api.post(REFRESH, {"refresh": refresh}, format="json")
    assert_401_and_nothing(response, "ghost")
    assert "access" not in response.json()


# --- The refresh endpoint takes forged refresh tokens no better -----------------------------------


def _refresh_claims(user: User) -> dict:
    return dict(RefreshToken.for_user(user).payload)


REFRESH_FORGERIES: dict[str, Callable[[User, User], str]] = {
    "alg_none": lambda v, a: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_refresh_claims(v))}.",
    "wrong_key": lambda v, a: jwt.encode(_refresh_claims(v), "wrong-key" * 5, algorithm="HS256"),
    "access_as_refresh": lambda v, a: str(AccessToken.for_user(v)),
    "user_id_edited": lambda v, a: (
        lambda h, p, s: f"{_b64(h)}.{_b64({**p, 'user_id': v.pk})}.{s}"
    )(*_parts(str(RefreshToken.for_user(a)))),
    "expired": lambda v, a: (
        lambda t: (t.set_exp(from_time=timezone.now() - timedelta(days=30)), str(t))[1]
    )(RefreshToken.for_user(v)),
}


@pytest.mark.parametrize("name", REFRESH_FORGERIES)
def test_forged_refresh_token_is_401(api, customer, other_customer, name):
    token = REFRESH_FORGERIES[name](customer, other_customer)
    response = api.post(REFRESH, {"refresh": token}, format="json")
    assert_401_and_nothing(response)
    assert "access_token" not in response.cookies
    # through the cookie as well
    client = APIClient()
    client.cookies["refresh_token"] = token
    assert_401_and_nothing(client.post(REFRESH))


def test_a_password_change_revokes_every_token_at_once(customer):
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.conftest import bearer

    client = bearer(customer)
    refresh = str(RefreshToken.for_user(customer))
    assert client.get("/api/v1/auth/me/").status_code == 200
    customer.set_password("a-brand-new-passphrase-42")
    customer.save()
    assert client.get("/api/v1/auth/me/").status_code == 401
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/auth/refresh/", {"refresh": refresh}, format="json")
    assert response.status_code == 401

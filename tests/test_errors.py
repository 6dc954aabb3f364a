"""Every failure is a JSON 4xx in the drf-standardized-errors shape, never a 500 or HTML."""

from __future__ import annotations

import pytest

from boxoffice.catalog.models import Genre, Theater

pytestmark = pytest.mark.django_db


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"type", "errors"}
    assert body["type"] in {"validation_error", "client_error"}
    assert body["errors"]
    for error in body["errors"]:
        assert set(error) == {"code", "detail", "attr"}
        assert isinstance(error["detail"], str)
        assert error["detail"]
    return body


# --- Malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/genres/", "/api/v1/auth/login/", "/api/v1/auth/register/", "/api/v1/showtimes/"],
)
def test_malformed_json_is_400(admin_api, path):
    response = admin_api.post(path, data='{"name": "Noir",', content_type="application/json")
    body = assert_json_error(response, 400)
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "parse_error"
    assert body["errors"][0]["attr"] is None


@pytest.mark.parametrize("payload", ["[1, 2]", '"a string"', "42", "null"])
@pytest.mark.parametrize(
    "path",
    ["/api/v1/genres/", "/api/v1/auth/login/", "/api/v1/auth/token/", "/api/v1/auth/register/"],
)
def test_json_that_is_not_an_object_is_400(admin_api, path, payload):
    response = admin_api.post(path, data=payload, content_type="application/json")
    assert_json_error(response, 400)


@pytest.mark.parametrize("payload", ["[1, 2]", '"a string"', "42"])
def test_refresh_and_grid_with_non_object_json_is_400(admin_api, screen, payload):
    for path in ("/api/v1/auth/refresh/", f"/api/v1/screens/{screen.id}/seats/generate/"):
        response = admin_api.post(path, data=payload, content_type="application/json")
        assert_json_error(response, 400)
    assert screen.seats.count() == 20


def test_unsupported_media_type_is_415(admin_api):
    response = admin_api.post("/api/v1/genres/", data="<genre/>", content_type="application/xml")
    assert_json_error(response, 415)


def test_body_above_the_upload_limit_is_400_json(admin_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    payload = '{"name": "' + "x" * 20_000 + '", "slug": "x"}'
    response = admin_api.post("/api/v1/genres/", data=payload, content_type="application/json")
    body = assert_json_error(response, 400)
    assert body["errors"][0]["code"] == "request_too_large"
    assert not Genre.objects.exists()


def test_wrong_method_is_405_json(admin_api, movie):
    assert_json_error(admin_api.put("/api/v1/movies/", {}, format="json"), 405)
    assert_json_error(admin_api.delete("/api/v1/auth/me/"), 405)


# --- Unknown ids --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/genres/999999/",
        "/api/v1/movies/999999/",
        "/api/v1/theaters/999999/",
        "/api/v1/screens/999999/",
        "/api/v1/screens/999999/seats/",
        "/api/v1/showtimes/999999/",
        "/api/v1/movies/999999/showtimes/",
        "/api/v1/movies/abc/",
        "/api/v1/showtimes/abc/",
        "/api/v1/movies/99999999999999999999999/",
    ],
)
def test_unknown_ids_are_404_json(api, path):
    body = assert_json_error(api.get(path), 404)
    assert body["errors"][0]["code"] == "not_found"


def test_unknown_ids_on_writes_are_404_json(admin_api):
    for method in ("patch", "put", "delete"):
        call = getattr(admin_api, method)
        assert_json_error(call("/api/v1/movies/999999/", {}, format="json"), 404)


def test_unknown_related_id_is_400_naming_the_field(admin_api, theater):
    response = admin_api.post("/api/v1/screens/", {"theater": 999999, "name": "X"}, format="json")
    body = assert_json_error(response, 400)
    assert body["errors"][0]["attr"] == "theater"
    assert body["errors"][0]["code"] == "does_not_exist"


# --- Impossible dates and bad filters -----------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["2026-02-30", "2026-13-01", "2026-00-10", "tomorrow", "20261201"]
)
@pytest.mark.parametrize(
    "path", ["/api/v1/showtimes/", "/api/v1/movies/", "/api/v1/movies/{movie}/showtimes/"]
)
def test_impossible_dates_are_400(api, movie, path, value):
    response = api.get(path.format(movie=movie.id) + f"?date={value}")
    body = assert_json_error(response, 400)
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == "date"


def test_leap_day_is_a_real_date(api):
    assert api.get("/api/v1/showtimes/?date=2028-02-29").status_code == 200


@pytest.mark.parametrize("query", ["movie=abc", "theater=abc", "screen=abc", "movie=1.5"])
def test_non_numeric_id_filters_are_400(api, query):
    assert_json_error(api.get(f"/api/v1/showtimes/?{query}"), 400)


def test_unknown_id_in_a_filter_is_400(api):
    assert_json_error(api.get("/api/v1/showtimes/?movie=999999"), 400)


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "9999-12-30", "0001-01-02"])
def test_extreme_dates_match_nothing_rather_than_crash(api, showtime, value):
    # theaters at both ends of the offset range, so a naive day-bounds computation overflows
    Theater.objects.create(name="Line Islands", timezone="Pacific/Kiritimati")
    Theater.objects.create(name="Samoa", timezone="Pacific/Pago_Pago")
    for path in ("/api/v1/showtimes/", "/api/v1/movies/"):
        response = api.get(f"{path}?date={value}")
        assert response.status_code == 200, (path, response.content[:300])
        assert response.json()["count"] == 0


# --- Oversize strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "data", "attr"),
    [
        ("/api/v1/genres/", {"name": "g" * 65, "slug": "g"}, "name"),
        ("/api/v1/genres/", {"name": "g", "slug": "g" * 65}, "slug"),
        ("/api/v1/movies/", {"title": "t" * 201, "duration_minutes": 90}, "title"),
        (
            "/api/v1/movies/",
            {"title": "t", "duration_minutes": 90, "description": "d" * 5001},
            "description",
        ),
        (
            "/api/v1/movies/",
            {"title": "t", "duration_minutes": 90, "age_rating": "a" * 17},
            "age_rating",
        ),
        ("/api/v1/theaters/", {"name": "n" * 201, "timezone": "UTC"}, "name"),
        ("/api/v1/theaters/", {"name": "n", "address": "a" * 501, "timezone": "UTC"}, "address"),
        ("/api/v1/theaters/", {"name": "n", "timezone": "Europe/" + "x" * 100}, "timezone"),
    ],
)
def test_oversize_strings_are_400(admin_api, path, data, attr):
    response = admin_api.post(path, data, format="json")
    body = assert_json_error(response, 400)
    assert attr in [e["attr"] for e in body["errors"]]


@pytest.mark.parametrize(
    ("field", "length"), [("username", 151), ("email", 255), ("password", 129)]
)
def test_oversize_strings_on_register_are_400(api, field, length):
    data = {"username": "frank", "email": "frank@example.com", "password": "Quite-Long-Passw0rd"}
    data[field] = ("x" * (length - 12) + "@example.com") if field == "email" else "x" * length
    body = assert_json_error(api.post("/api/v1/auth/register/", data, format="json"), 400)
    assert body["errors"][0]["attr"] == field


def test_oversize_login_fields_are_400(api):
    response = api.post(
        "/api/v1/auth/login/", {"username": "u" * 151, "password": "p"}, format="json"
    )
    assert_json_error(response, 400)


def test_oversize_search_is_400(api):
    assert_json_error(api.get("/api/v1/movies/?search=" + "s" * 201), 400)


# --- Pagination ---------------------------------------------------------------------------------


@pytest.fixture
def many_genres(db):
    Genre.objects.bulk_create(Genre(name=f"Genre {i:03}", slug=f"genre-{i:03}") for i in range(105))


def test_default_page_size_is_20(api, many_genres):
    body = api.get("/api/v1/genres/").json()
    assert body["count"] == 105
    assert len(body["results"]) == 20
    assert body["previous"] is None
    assert "page=2" in body["next"]


def test_page_size_above_100_is_capped(api, many_genres):
    response = api.get("/api/v1/genres/?page_size=1000")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 105
    assert len(body["results"]) == 100
    assert body["next"] is not None
    last = api.get("/api/v1/genres/?page_size=1000&page=2").json()
    assert len(last["results"]) == 5


def test_page_size_within_the_cap_is_honoured(api, many_genres):
    assert len(api.get("/api/v1/genres/?page_size=7").json()["results"]) == 7


@pytest.mark.parametrize("page_size", ["abc", "0", "-3"])
def test_silly_page_sizes_fall_back_to_the_default(api, many_genres, page_size):
    response = api.get(f"/api/v1/genres/?page_size={page_size}")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 20


@pytest.mark.parametrize("page", ["abc", "0", "-1", "2.5", "999"])
def test_bad_or_missing_pages_are_404_json(api, many_genres, page):
    body = assert_json_error(api.get(f"/api/v1/genres/?page={page}"), 404)
    assert body["errors"][0]["code"] == "not_found"


def test_last_page_is_reachable(api, many_genres):
    body = api.get("/api/v1/genres/?page=6").json()
    assert len(body["results"]) == 5
    assert body["next"] is None


# --- Auth errors keep the shape -----------------------------------------------------------------


def test_permission_errors_have_the_standard_shape(api, customer_api):
    body = assert_json_error(api.post("/api/v1/genres/", {"name": "x", "slug": "x"}), 401)
    assert body["errors"][0]["code"] == "not_authenticated"
    body = assert_json_error(customer_api.post("/api/v1/genres/", {"name": "x", "slug": "x"}), 403)
    assert body["errors"][0]["code"] == "permission_denied"


def test_unknown_api_path_is_404(api):
    assert api.get("/api/v1/no-such-thing/").status_code == 404


# --- Domain errors: one hierarchy, mapped in one place ------------------------------------------


def _raising_view(exc: Exception):  # type: ignore[no-untyped-def]
    """A DRF view of the project's settings (its exception handler) that raises ``exc``."""
    from rest_framework.permissions import AllowAny
    from rest_framework.views import APIView

    class Raising(APIView):
        permission_classes = [AllowAny]

        def get(self, request):  # type: ignore[no-untyped-def]
            raise exc

    return Raising.as_view()


def _answer(exc: Exception):  # type: ignore[no-untyped-def]
    from rest_framework.test import APIRequestFactory

    response = _raising_view(exc)(APIRequestFactory().get("/"))
    response.render()
    return response


@pytest.mark.parametrize(
    ("make", "status", "body"),
    [
        (
            lambda e: e.Invalid("Pick a seat.", attr="seats"),
            400,
            {"type": "validation_error", "code": "invalid", "attr": "seats"},
        ),
        (
            lambda e: e.InputError("Too many.", field="quantity", code="max_value"),
            400,
            {"type": "validation_error", "code": "max_value", "attr": "quantity"},
        ),
        (
            lambda e: e.Invalid("Nothing to do."),
            400,
            {"type": "validation_error", "code": "invalid", "attr": None},
        ),
        (lambda e: e.BadRequest(), 400, {"type": "client_error", "code": "bad_request"}),
        (
            lambda e: e.NotFound("No such ticket."),
            404,
            {"type": "client_error", "code": "not_found"},
        ),
        (
            lambda e: e.Conflict("Taken.", code="seats_unavailable"),
            409,
            {"type": "client_error", "code": "seats_unavailable", "attr": None},
        ),
        (lambda e: e.Unprocessable(), 422, {"type": "client_error", "code": "unprocessable"}),
        (lambda e: e.PaymentRefused(), 502, {"type": "server_error", "code": "payment_refused"}),
        (
            lambda e: e.Unavailable("Later.", code="payments_unavailable"),
            503,
            {"type": "server_error", "code": "payments_unavailable"},
        ),
    ],
)
def test_each_domain_error_has_its_status_and_the_standard_body(make, status, body):
    from boxoffice.core import errors

    exc = make(errors)
    response = _answer(exc)
    assert response.status_code == status
    data = response.data
    assert data["type"] == body["type"]
    assert len(data["errors"]) == 1
    error = data["errors"][0]
    assert error["detail"] == str(exc)
    assert error["code"] == body["code"]
    assert error["attr"] == body.get("attr")
    assert "Retry-After" not in response


def test_unavailable_sends_its_retry_after():
    from boxoffice.core import errors
    from boxoffice.payments.services import PaymentsUnavailable

    assert _answer(errors.Unavailable(retry_after=7))["Retry-After"] == "7"
    assert _answer(PaymentsUnavailable())["Retry-After"] == "5"
    assert _answer(errors.DatabaseUnavailable())["Retry-After"] == "2"
    assert "Retry-After" not in _answer(errors.DatabaseNotMigrated())


def test_a_django_validation_error_is_a_400_naming_the_field():
    from django.core.exceptions import ValidationError

    response = _answer(ValidationError({"password": ["Too short.", "Too common."]}))
    assert response.status_code == 400
    assert response.data == {
        "type": "validation_error",
        "errors": [
            {"code": "invalid", "detail": "Too short.", "attr": "password"},
            {"code": "invalid", "detail": "Too common.", "attr": "password"},
        ],
    }


def test_domain_errors_know_nothing_of_drf():
    from rest_framework.exceptions import APIException

    from boxoffice.core import errors
    from boxoffice.core.idempotency import KeyReused

    for name in ("Invalid", "BadRequest", "NotFound", "Conflict", "PaymentRefused", "Unavailable"):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.DomainError)
        assert not issubclass(cls, APIException)
    assert issubclass(KeyReused, errors.DomainError)
    assert issubclass(errors.InputError, errors.Invalid)
    assert issubclass(errors.Invalid, ValueError)  # plain callers may catch ValueError

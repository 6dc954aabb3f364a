"""The schema generator: drf-standardized-errors' AutoSchema, which documents the standard
error responses of every operation, plus tags taken from the view.

What it adds, so that generated clients (openapi-python-client, openapi-typescript) need no hand
edits:
- the errors an operation can really give, and only those: 400 where there is input (a body,
  filters, an ``Idempotency-Key``), 415 where there is a body, 403 where a permission or the CSRF
  check can refuse, 409/422/502/503 as the view declares them with :class:`ErrorDoc` (the codes
  an enum per operation), 429 and 503 with their ``Retry-After`` header;
- security requirements as alternatives (Bearer *or* cookie, or none where anonymous is allowed);
- integer path ids and id filters; every field of a response required (DRF always writes them);
- no internal docstrings as descriptions (views say what clients need with ``description=``);
- realistic examples for money, currencies and times.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from drf_spectacular.plumbing import ResolvedComponent, append_meta, force_instance
from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema
from inflection import camelize

IDEMPOTENCY_HEADER = "Idempotency-Key"
UNSAFE_WITH_BODY = ("POST", "PUT", "PATCH")
# Query filters that take an object id: integers in the schema, whatever filter class reads them.
ID_FILTERS = {"theater", "showtime", "user", "movie", "screen", "genre_id"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (sent when the wait is known).",
        "schema": {"type": "integer", "minimum": 0},
    }
}
EXAMPLE_DATETIME = "2026-12-01T18:30:00+01:00"


class ErrorDoc:
    """An error answer a view declares in ``extend_schema(responses={status: ErrorDoc(...)})``:
    the schema gets the standard error shape with ``codes`` as the enum of ``errors[].code``.
    ``name`` makes it a shared component; without one it is named after the operation."""

    def __init__(
        self,
        codes: Sequence[str],
        description: str,
        *,
        name: str | None = None,
        retry_after: bool = False,
    ) -> None:
        self.codes = list(dict.fromkeys(codes))
        self.description = description
        self.name = name
        self.retry_after = retry_after

    def with_codes(self, *codes: str) -> ErrorDoc:
        return ErrorDoc(
            [*self.codes, *codes], self.description, name=None, retry_after=self.retry_after
        )


def conflict(*codes: str, description: str = "") -> ErrorDoc:
    """409: the request is valid but the current state forbids it; ``codes`` say which state."""
    return ErrorDoc(
        codes, description or "Conflict with the current state: `errors[0].code` says which."
    )


DATABASE_UNAVAILABLE = ErrorDoc(
    ["database_unavailable", "database_not_migrated", "lock_timeout"],
    "The database is unavailable for a moment, or the rows this request needs stayed locked by "
    "another one for longer than DB_LOCK_TIMEOUT_MS (`lock_timeout`; nothing changed): retry "
    "after `Retry-After` seconds.",
    name="ServiceUnavailable",
    retry_after=True,
)
PAYMENTS_UNAVAILABLE = ErrorDoc(
    ["payments_unavailable", "database_unavailable", "database_not_migrated", "lock_timeout"],
    "Stripe or the database cannot be reached right now: retry after `Retry-After` seconds; "
    "nothing was charged and held seats stay held.",
    name="PaymentsUnavailable",
    retry_after=True,
)
PAYMENT_REFUSED = ErrorDoc(
    ["payment_refused"],
    "Stripe refused to open a payment for this booking; the seats stay held until the hold "
    "expires.",
    name="PaymentRefused",
)
IDEMPOTENCY_KEY_REUSED = ErrorDoc(
    ["idempotency_key_reused"],
    "This `Idempotency-Key` was already used with a different request; nothing was done.",
    name="IdempotencyKeyReused",
)


class AutoSchema(StandardizedErrorsAutoSchema):
    def get_tags(self) -> list[str]:
        tags = getattr(self.view, "openapi_tags", None)
        if tags:
            return list(tags)
        return super().get_tags()

    def get_auth(self) -> list[dict]:
        """Each scheme is an alternative requirement (Bearer *or* cookie: one requirement
        naming both would mean both at once), plus an empty one (``{}``) where anonymous users
        may call, so clients and fuzzers know that authentication is optional there."""
        auths: list[dict] = []
        for requirement in super().get_auth():
            for name, scopes in requirement.items():
                if {name: scopes} not in auths:
                    auths.append({name: scopes})
        if not auths:
            # No authentication at all (sign-in, the webhook): no requirement, so generated
            # clients call it without credentials.
            return []
        if {} not in auths and self._allows_anonymous():
            auths.append({})
        return auths

    def map_parsers(self) -> list[Any]:
        # A view may document fewer request media types than it parses (see MovieViewSet).
        documented = getattr(self.view, "openapi_request_media_types", None)
        return list(documented) if documented else super().map_parsers()

    # Descriptions are written for client developers with extend_schema(description=...);
    # docstrings are notes for us and never become the description of an operation.
    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature, not DRF's
        return ""

    # --- errors --------------------------------------------------------------------------------

    def _has_request_body(self) -> bool:
        return self.method in UNSAFE_WITH_BODY and self._should_add_validation_error_response()

    def _accepts_idempotency_key(self) -> bool:
        return any(
            getattr(p, "name", None) == IDEMPOTENCY_HEADER for p in self.get_override_parameters()
        )

    def _should_add_parse_error_response(self) -> bool:
        # Only a body is parsed (the idempotency check reads it too).
        return self.method in UNSAFE_WITH_BODY and (
            self._has_body_serializer() or self._accepts_idempotency_key()
        )

    def _has_body_serializer(self) -> bool:
        from rest_framework import serializers

        def is_serializer(candidate: Any) -> bool:
            return isinstance(candidate, serializers.Field) or (
                inspect.isclass(candidate) and issubclass(candidate, serializers.Field)
            )

        request_serializer = self.get_request_serializer()
        if isinstance(request_serializer, dict):  # {media type: serializer}, e.g. the poster
            return any(is_serializer(value) for value in request_serializer.values())
        return is_serializer(request_serializer)

    def _should_add_validation_error_response(self) -> bool:
        # Also query parameters validated by a serializer (reports) and an Idempotency-Key.
        has_query_input = any(
            p["in"] == "query" and p["name"] not in ("page", "page_size")
            for p in self._get_parameters()
        )
        return (
            super()._should_add_validation_error_response()
            or has_query_input
            or (self.method in UNSAFE_WITH_BODY and self._accepts_idempotency_key())
            or (self.method in UNSAFE_WITH_BODY and self._has_body_serializer())
        )

    def _should_add_http415_error_response(self) -> bool:
        # Only a body has a content type to refuse.
        return (
            self.method in UNSAFE_WITH_BODY
            and self._has_body_serializer()
            and super()._should_add_http415_error_response()
        )

    def _should_add_http401_error_response(self) -> bool:
        # A bad or expired token is refused wherever a token is read (even where anonymous
        # users are welcome); views without authentication refuse bad credentials in a body.
        return bool(self.view.get_authenticators()) or self.method in UNSAFE_WITH_BODY

    def _should_add_http404_error_response(self) -> bool:
        # An object named in the path, or a page past the end. (An unknown ?format= would be
        # a 404 too, but no client generated from this schema sends one.)
        has_path_parameters = any(p["in"] == "path" for p in self._get_parameters())
        is_paginated_list = self.method == "GET" and self._is_list_view()
        return has_path_parameters or (is_paginated_list and self._get_paginator() is not None)

    def _should_add_http403_error_response(self) -> bool:
        # Unsafe requests can fail the CSRF check; reads only where a permission can refuse.
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            return True
        return not self._allows_anonymous()

    def _should_add_http429_error_response(self) -> bool:
        # A view that counts its requests itself (not with throttle_classes) says so.
        return super()._should_add_http429_error_response() or bool(
            getattr(self.view, "openapi_throttled", False)
        )

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction=direction)  # type: ignore[arg-type]
        if direction != "response":
            return responses
        if self._accepts_idempotency_key():
            # 409 idempotency_in_flight joins the declared codes (see _error_response).
            responses.setdefault("409", self._error_response(conflict(), "409"))
            responses.setdefault("422", self._error_response(IDEMPOTENCY_KEY_REUSED, "422"))
        if "503" not in responses:
            responses["503"] = self._error_response(DATABASE_UNAVAILABLE, "503")
        if "429" in responses:
            responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
        return dict(sorted(responses.items()))

    def _get_response_for_code(
        self, serializer: Any, status_code: str, *args: Any, **kwargs: Any
    ) -> dict:
        if isinstance(serializer, ErrorDoc):
            return self._error_response(serializer, str(status_code))
        return super()._get_response_for_code(serializer, status_code, *args, **kwargs)

    def _error_response(self, doc: ErrorDoc, status_code: str) -> dict:
        if status_code == "409" and self._accepts_idempotency_key():
            # A retry while the first request with the same key still runs.
            doc = doc.with_codes("idempotency_in_flight")
        name = doc.name or f"{camelize(self.get_operation_id())}Error{status_code}"
        item = {
            "type": "object",
            "properties": {
                "code": {"type": "string", "enum": doc.codes},
                "detail": {"type": "string", "description": "For people, not for programs."},
                "attr": append_meta(
                    {"type": "string", "description": "The input at fault, if any."},
                    {"nullable": True},
                ),
            },
            "required": ["code", "detail", "attr"],
        }
        # The error type's enum is a shared component (drf-standardized-errors names it too).
        enum_name, error_type = (
            ("ServerErrorEnum", "server_error")
            if status_code.startswith("5")
            else ("ClientErrorEnum", "client_error")
        )
        enum = ResolvedComponent(
            name=enum_name,
            type=ResolvedComponent.SCHEMA,
            schema={"type": "string", "enum": [error_type]},
            object=enum_name,
        )
        self.registry.register_on_missing(enum)
        schema = {
            "type": "object",
            "properties": {
                "type": enum.ref,
                "errors": {"type": "array", "items": item, "minItems": 1},
            },
            "required": ["type", "errors"],
        }
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name
        )
        self.registry.register_on_missing(component)
        response: dict = {
            "description": doc.description,
            "content": {"application/json": {"schema": component.ref}},
        }
        if doc.retry_after:
            response["headers"] = dict(RETRY_AFTER)
        return response

    # --- names, parameters, fields -------------------------------------------------------------

    def _get_serializer_name(
        self, serializer: Any, direction: str, *args: Any, **kwargs: Any
    ) -> str:
        name = super()._get_serializer_name(serializer, direction, *args, **kwargs)
        # HoldRequestSerializer in a request is "HoldRequest", not "HoldRequestRequest";
        # private helper serializers (_Error401) lose their underscore.
        name = re.sub(r"RequestRequest$", "Request", name)
        return name.lstrip("_")

    def _get_parameters(self) -> list[dict]:
        parameters = super()._get_parameters()
        for parameter in parameters:
            schema = parameter.get("schema") or {}
            is_id = (
                parameter["in"] == "path" and re.fullmatch(r"(\w+_)?id|pk", parameter["name"])
            ) or (parameter["in"] == "query" and parameter["name"] in ID_FILTERS)
            if is_id and schema.get("type") in ("string", "number", "integer"):
                parameter["schema"] = {"type": "integer", "minimum": 1}
        return parameters

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "response":
            # DRF writes every readable field of a serializer: all are there in a response. A
            # field declared `required=False` on a plain Serializer (a body built by hand, such
            # as the seat map's `reason`) is the exception: it may be left out.
            from rest_framework import serializers

            fields = force_instance(serializer).fields
            optional = {
                name
                for name, field in fields.items()
                if not isinstance(serializer, serializers.ModelSerializer)
                and not (
                    inspect.isclass(serializer)
                    and issubclass(serializer, serializers.ModelSerializer)
                )
                and not field.required
                and not field.read_only
            }
            schema["required"] = [
                name
                for name, field_schema in schema.get("properties", {}).items()
                if not field_schema.get("writeOnly") and name not in optional
            ]
        return schema

    def _map_serializer_field(self, field: Any, direction: str, *args: Any, **kwargs: Any) -> dict:
        from rest_framework import serializers

        schema = super()._map_serializer_field(field, direction, *args, **kwargs)
        if not isinstance(schema, dict) or "$ref" in schema or "example" in schema:
            return schema
        example: Any = None
        if field.field_name == "currency" and isinstance(field, serializers.CharField):
            example = "usd"
        elif isinstance(field, serializers.DecimalField):
            example = "12.50" if field.decimal_places == 2 else "1.0"
        elif isinstance(field, serializers.DateTimeField):
            example = EXAMPLE_DATETIME
        elif isinstance(field, serializers.DateField):
            example = EXAMPLE_DATETIME[:10]
        if example is not None:
            schema["example"] = example
        return schema

    def _allows_anonymous(self) -> bool:
        """Whether every permission of the view lets an anonymous user through for this method.
        DRF's ``AllowAny`` always does and ``IsAuthenticatedOrReadOnly`` does for reads; any
        other permission class says so itself with ``allows_anonymous_reads = True`` (core
        cannot name the classes of the apps above it)."""
        from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticatedOrReadOnly

        permissions = self.view.get_permissions()
        if not permissions:
            return True
        for permission in permissions:
            if isinstance(permission, AllowAny):
                continue
            read_only = isinstance(permission, IsAuthenticatedOrReadOnly) or getattr(
                permission, "allows_anonymous_reads", False
            )
            if read_only and self.method in SAFE_METHODS:
                continue
            return False
        return True


def explicit_no_security(result: dict, generator: Any, **kwargs: Any) -> dict:
    """Operations without authentication (sign-in, the webhook, the seat map) say so with
    ``security: []``: no requirement at all (Redocly's security-defined rule asks for it), so
    generated clients call them without credentials."""
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"} and "security" not in operation:
                operation["security"] = []
    return result

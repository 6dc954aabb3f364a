"""Domain errors and their documented JSON shapes: one error style for every layer.

Services raise :class:`InputError` (400, naming the input at fault), :class:`Conflict` (409: the
state forbids it) or :class:`NotFound` (404). Views never catch them: :class:`ExceptionHandler`
turns them, once, into the standard ``{"type", "errors": [{"code", "detail", "attr"}]}`` shape
(drf-standardized-errors), and nothing builds error JSON by hand. The Django admin site catches
the same classes and shows their message on the form.
"""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, ProgrammingError, models
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.exceptions import NotFound as DRFNotFound


def error_response(status: int, type: str, code: str, detail: str) -> JsonResponse:
    """The standard error shape for answers Django gives outside DRF (unrouted URLs, a crash
    before any view): the only place besides the DRF handler that writes it."""
    return JsonResponse(
        {"type": type, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status
    )


class InputError(ValueError):
    """400: the request is invalid. ``field`` names the input at fault (None: the request as a
    whole), and the message says what to fix. A ValueError, so plain Python callers (management
    commands, the admin site) can treat it as one."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.code = code

    def as_validation_error(self) -> ValidationError:
        from rest_framework.exceptions import ErrorDetail

        detail = ErrorDetail(str(self), code=self.code)
        return ValidationError({self.field: [detail]} if self.field else [detail])


class NotFound(DRFNotFound):
    """404: no such object (or not one the caller may see)."""


class Conflict(APIException):
    """409: the request is valid but the current state forbids it (a seat already taken,
    an overlap found under a race, bookings that block a delete)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class BadRequest(APIException):
    """400 for a request Django itself refuses (a body above DATA_UPLOAD_MAX_MEMORY_SIZE, too
    many fields): Django answers those with 400, and so do we, in the standard JSON shape."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request was refused."
    default_code = "bad_request"


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler, plus Django's SuspiciousOperation family. DRF reads
    the body lazily, inside the view, so those exceptions reach this handler, which would
    otherwise call them a server error (500)."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, InputError):
            return exc.as_validation_error()
        if isinstance(exc, DjangoValidationError):
            # A model validator or a service using Django's own type: same 400 shape.
            if hasattr(exc, "error_dict"):
                return ValidationError(exc.message_dict)
            return ValidationError(exc.messages)
        if _is_missing_table(exc):
            return DatabaseNotMigrated()
        if isinstance(exc, OperationalError | InterfaceError):
            # The database is unreachable or restarting (connections are health-checked and
            # reopened on the next request): a retryable 503, not a bug's 500. Still logged
            # with its traceback as a server error.
            return DatabaseUnavailable()
        if isinstance(exc, RequestDataTooBig):
            return BadRequest("The request body is too large.", code="request_too_large")
        if isinstance(exc, SuspiciousOperation):
            return BadRequest()
        return super().convert_known_exceptions(exc)


def _is_missing_table(exc: Exception) -> bool:
    """A table that does not exist (``migrate`` was not run) is a set-up error, not a database
    outage: reporting it as "unavailable, retry" would send an operator looking at the wrong
    thing. SQLite raises OperationalError("no such table"), PostgreSQL ProgrammingError."""
    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service we depend on is unavailable; try again shortly."
    default_code = "service_unavailable"


class PaymentRefused(APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = (
        "The payment provider refused to open a payment for this booking; the seats stay held "
        "until the hold expires."
    )
    default_code = "payment_refused"


class DatabaseUnavailable(ServiceUnavailable):
    default_detail = "The database is unavailable for a moment; please retry."
    default_code = "database_unavailable"
    wait = 2  # seconds, sent as Retry-After


class DatabaseNotMigrated(ServiceUnavailable):
    """A table is missing: the database was never migrated (or not fully). No Retry-After: a
    retry cannot help until an operator runs ``manage.py migrate``."""

    default_detail = "The database is not set up: run `python manage.py migrate`."
    default_code = "database_not_migrated"


class Error401Code(models.TextChoices):
    AUTHENTICATION_FAILED = "authentication_failed", "Authentication failed"
    NOT_AUTHENTICATED = "not_authenticated", "Not authenticated"
    TOKEN_NOT_VALID = "token_not_valid", "Token not valid (expired, tampered or blacklisted)"
    INVALID_CREDENTIALS = "invalid_credentials", "Wrong username or password"
    NO_ACTIVE_ACCOUNT = "no_active_account", "The account is disabled or gone"
    USER_INACTIVE = "user_inactive", "The account is disabled"
    USER_NOT_FOUND = "user_not_found", "The token's user no longer exists"
    PASSWORD_CHANGED = "password_changed", "The password changed after the token was issued"


class _Error401Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=Error401Code.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse401Serializer(serializers.Serializer):
    """The body of a 401 response."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    # A field named like Serializer.errors (the stubs see that property); DRF's metaclass
    # moves declared fields off the class, so nothing is shadowed at runtime.
    errors = _Error401Serializer(many=True)  # type: ignore[assignment]


class _ValidationErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable, e.g. required, invalid, max_length.")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True, help_text="The input at fault, if any.")


class ErrorResponse400Serializer(serializers.Serializer):
    """The body of a 400 response: invalid input (``validation_error``) or a request that could
    not be read (``client_error``: malformed JSON, a body too large)."""

    type = serializers.ChoiceField(choices=["validation_error", "client_error"])
    # A field named like Serializer.errors (the stubs see that property); DRF's metaclass
    # moves declared fields off the class, so nothing is shadowed at runtime.
    errors = _ValidationErrorSerializer(many=True)  # type: ignore[assignment]


class _Error409Serializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409Serializer(serializers.Serializer):
    """The body of a 409 response."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    # A field named like Serializer.errors (the stubs see that property); DRF's metaclass
    # moves declared fields off the class, so nothing is shadowed at runtime.
    errors = _Error409Serializer(many=True)  # type: ignore[assignment]

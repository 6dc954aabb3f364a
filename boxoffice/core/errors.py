"""Domain errors and their documented JSON shapes: one error style for every layer.

The hierarchy knows nothing of DRF; services, views and the admin site all raise it::

    DomainError(detail, *, code, attr=None)     400 unless a subclass says otherwise
    ├── Invalid            400  the input is wrong; ``attr`` names it (InputError: the old name)
    ├── BadRequest         400  the request cannot be read (a body too large, a bad signature)
    ├── NotFound           404  no such object (or not one the caller may see)
    ├── Conflict           409  the request is valid but the current state forbids it
    ├── Unprocessable      422  the request contradicts an earlier one (a reused idempotency key)
    ├── PaymentRefused     502  the payment provider refused
    └── Unavailable        503  retry later; ``retry_after`` seconds become ``Retry-After``

Views never catch them and nothing builds error JSON by hand: :class:`ExceptionHandler` turns
them, in this one place, into the standard ``{"type", "errors": [{"code", "detail", "attr"}]}``
shape (drf-standardized-errors): ``validation_error`` for :class:`Invalid`, ``client_error``
for other 4xx, ``server_error`` for 5xx. The same handler maps Django's ``ValidationError``
(model validators) to a 400, and DRF's own exceptions (serializer validation, authentication,
permissions, throttling) keep their usual answers. The Django admin site catches the same
classes and shows ``str(exc)`` on the form, on the field named by ``attr`` when there is one.
"""

from __future__ import annotations

from typing import ClassVar

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError, ProgrammingError, models
from django.http import JsonResponse
from drf_standardized_errors.handler import ExceptionHandler as StandardizedExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers
from rest_framework.exceptions import APIException, ErrorDetail, ValidationError


def error_response(status: int, type: str, code: str, detail: str) -> JsonResponse:
    """The standard error shape for answers Django gives outside DRF (unrouted URLs, a crash
    before any view): the only place besides the DRF handler that writes it."""
    return JsonResponse(
        {"type": type, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status
    )


class DomainError(Exception):
    """A refusal a client can act on. ``detail`` is for people (``str(exc)`` too), ``code`` for
    programs, ``attr`` names the input at fault (None: the request as a whole). Subclasses set
    the HTTP status and the defaults."""

    status_code: ClassVar[int] = 400
    default_detail: ClassVar[str] = "The request was refused."
    default_code: ClassVar[str] = "error"

    def __init__(
        self, detail: str | None = None, *, code: str | None = None, attr: str | None = None
    ) -> None:
        self.detail = str(detail) if detail is not None else self.default_detail
        self.code = code or self.default_code
        self.attr = attr
        super().__init__(self.detail)


class Invalid(DomainError, ValueError):
    """400: the request is invalid; ``attr`` names the input at fault and the message says what
    to fix. A ValueError too, so plain Python callers (management commands) can treat it as
    one."""

    default_detail = "Invalid input."
    default_code = "invalid"


class InputError(Invalid):
    """:class:`Invalid` under its former name, taking ``field`` for ``attr`` (services and
    their subclasses still say ``field=``)."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message, code=code, attr=field)

    @property
    def field(self) -> str | None:
        return self.attr


class BadRequest(DomainError):
    """400 for a request that cannot be read (a body above DATA_UPLOAD_MAX_MEMORY_SIZE, too
    many fields, a webhook signature that does not verify): Django answers those with 400, and
    so do we, in the standard JSON shape (``client_error``: no input to correct)."""

    default_detail = "The request was refused."
    default_code = "bad_request"


class NotFound(DomainError):
    """404: no such object (or not one the caller may see)."""

    status_code = 404
    default_detail = "Not found."
    default_code = "not_found"


class Conflict(DomainError):
    """409: the request is valid but the current state forbids it (a seat already taken,
    an overlap found under a race, bookings that block a delete, a refused transition)."""

    status_code = 409
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class Unprocessable(DomainError):
    """422: the request contradicts an earlier one (an Idempotency-Key reused for another
    request)."""

    status_code = 422
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"


class PaymentRefused(DomainError):
    """502: the payment provider refused the request."""

    status_code = 502
    default_detail = (
        "The payment provider refused to open a payment for this booking; the seats stay held "
        "until the hold expires."
    )
    default_code = "payment_refused"


class Unavailable(DomainError):
    """503: something we depend on is unavailable. ``retry_after`` (seconds), when known, is
    sent as ``Retry-After``."""

    status_code = 503
    default_detail = "A service we depend on is unavailable; try again shortly."
    default_code = "service_unavailable"
    retry_after: int | None = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        attr: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail, code=code, attr=attr)
        if retry_after is not None:
            self.retry_after = retry_after


class DatabaseUnavailable(Unavailable):
    default_detail = "The database is unavailable for a moment; please retry."
    default_code = "database_unavailable"
    retry_after = 2


class DatabaseNotMigrated(Unavailable):
    """A table is missing: the database was never migrated (or not fully). No Retry-After: a
    retry cannot help until an operator runs ``manage.py migrate``."""

    default_detail = "The database is not set up: run `python manage.py migrate`."
    default_code = "database_not_migrated"


class _DomainAPIException(APIException):
    """A :class:`DomainError` as DRF's handler machinery takes it (status, detail, wait)."""

    def __init__(self, exc: DomainError) -> None:
        self.status_code = exc.status_code
        detail = ErrorDetail(exc.detail, code=exc.code)
        self.detail = {exc.attr: [detail]} if exc.attr else detail
        self.wait = getattr(exc, "retry_after", None)


class ExceptionHandler(StandardizedExceptionHandler):
    """drf-standardized-errors' handler: the one place that maps our errors to responses. Adds
    :class:`DomainError`, Django's ValidationError, and Django's SuspiciousOperation family (DRF
    reads the body lazily, inside the view, so those reach this handler, which would otherwise
    call them a server error), and database outages (503)."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, Invalid):
            detail = ErrorDetail(exc.detail, code=exc.code)
            return ValidationError({exc.attr: [detail]} if exc.attr else [detail])
        if isinstance(exc, DomainError):
            return _DomainAPIException(exc)
        if isinstance(exc, DjangoValidationError):
            # A model validator or a service using Django's own type: same 400 shape.
            if hasattr(exc, "error_dict"):
                return ValidationError(exc.message_dict)
            return ValidationError(exc.messages)
        if _is_missing_table(exc):
            return _DomainAPIException(DatabaseNotMigrated())
        if isinstance(exc, OperationalError | InterfaceError):
            # The database is unreachable or restarting (connections are health-checked and
            # reopened on the next request): a retryable 503, not a bug's 500. Still logged
            # with its traceback as a server error.
            return _DomainAPIException(DatabaseUnavailable())
        if isinstance(exc, RequestDataTooBig):
            return _DomainAPIException(
                BadRequest("The request body is too large.", code="request_too_large")
            )
        if isinstance(exc, SuspiciousOperation):
            return _DomainAPIException(BadRequest())
        return super().convert_known_exceptions(exc)


def _is_missing_table(exc: Exception) -> bool:
    """A table that does not exist (``migrate`` was not run) is a set-up error, not a database
    outage: reporting it as "unavailable, retry" would send an operator looking at the wrong
    thing. SQLite raises OperationalError("no such table"), PostgreSQL ProgrammingError."""
    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    text = str(exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


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

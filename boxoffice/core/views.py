"""Mixins shared by API views."""

from __future__ import annotations

from django.db.models import Model, ProtectedError, RestrictedError
from django.http import HttpRequest, JsonResponse

from .errors import Conflict, error_response


class ProtectedDestroyMixin:
    """Turns the database's refusal to delete a row that others depend on (bookings hold
    PROTECT references to showtimes and seats) into a 409 that says why."""

    protected_message = "This object cannot be deleted because bookings refer to it."

    def perform_destroy(self, instance: Model) -> None:
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise Conflict(self.protected_message, code="protected") from exc


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for URLs that match no route, in the API's error shape (Django's default is HTML)."""
    return error_response(404, "client_error", "not_found", "Not found.")


def json_server_error(request: HttpRequest) -> JsonResponse:
    """500 in the API's error shape. Always a bug: the details are in the log, not the answer."""
    return error_response(500, "server_error", "error", "A server error occurred.")

"""Mixins shared by API views."""

from __future__ import annotations

from django.db.models import ProtectedError, RestrictedError

from .errors import Conflict


class ProtectedDestroyMixin:
    """Turns the database's refusal to delete a row that others depend on (bookings hold
    PROTECT references to showtimes and seats) into a 409 that says why."""

    protected_message = "This object cannot be deleted because bookings refer to it."

    def perform_destroy(self, instance) -> None:  # type: ignore[no-untyped-def]
        try:
            instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise Conflict(self.protected_message, code="protected") from exc

"""The schema generator: drf-standardized-errors' AutoSchema, which documents the standard
error responses of every operation, plus tags taken from the view."""

from __future__ import annotations

from drf_standardized_errors.openapi import AutoSchema as StandardizedErrorsAutoSchema


class AutoSchema(StandardizedErrorsAutoSchema):
    def get_tags(self) -> list[str]:
        tags = getattr(self.view, "openapi_tags", None)
        if tags:
            return list(tags)
        return super().get_tags()

    # Any request may carry a bad or expired token (401), and any cookie-authenticated write may
    # fail the CSRF check (403), whatever the view's own permissions: document both everywhere.
    def _should_add_http401_error_response(self) -> bool:
        return True

    def _should_add_http403_error_response(self) -> bool:
        return True

    def get_auth(self) -> list[dict]:
        """Mark operations anonymous users may call with an empty requirement (``{}``), so
        clients and fuzzers know that authentication is optional there."""
        auths = super().get_auth()
        if {} not in auths and self._allows_anonymous():
            auths.append({})
        return auths

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

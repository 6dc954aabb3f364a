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

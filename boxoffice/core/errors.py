"""Domain errors and their documented JSON shapes.

Services raise these; DRF's exception handler (drf-standardized-errors) renders them in the
standard ``{"type", "errors": [{"code", "detail", "attr"}]}`` shape.
"""

from __future__ import annotations

from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers, status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409: the request is valid but the current state forbids it (a seat already taken,
    an overlap found under a race, bookings that block a delete)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class ServiceUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service we depend on is unavailable; try again shortly."
    default_code = "service_unavailable"


class _Error409Serializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse409Serializer(serializers.Serializer):
    """The body of a 409 response."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = _Error409Serializer(many=True)

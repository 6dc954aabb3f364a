"""Password endpoints: a reset link by email, setting a new password with it, and a change
while signed in. Thin, as the other auth views: parse, call accounts.services, render."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken

from boxoffice.core.errors import ErrorResponse400Serializer
from boxoffice.core.throttling import PASSWORD_RESET_THROTTLES, LoginIPThrottle, LoginUserThrottle

from . import services
from .api import AuthView, CredentialsView
from .cookies import set_auth_cookies
from .models import User

# --- Passwords: reset by email, and change -------------------------------------------------------


class PasswordResetRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class PasswordResetConfirmSerializer(serializers.Serializer):
    uid = serializers.CharField(
        max_length=64, help_text="From the emailed link: /reset/<uid>/<token>/."
    )
    token = serializers.CharField(max_length=128, help_text="From the emailed link.")
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    new_password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )


def _password_errors(exc: DjangoValidationError) -> ValidationError:
    """Django's validator errors as a 400 that keeps each one's code (``password_too_short``,
    ``password_too_common``, ...) under the field the service named."""
    return ValidationError(
        {
            field: [
                ErrorDetail(error.messages[0], code=error.code or "invalid") for error in errors
            ]
            for field, errors in exc.error_dict.items()
        }
    )


PASSWORD_400 = (
    "Invalid input. Codes: `invalid_token` (attr `token`: the link is bad, used or expired; ask "
    "for a new one); Django's password validators on the new password "
    "(`password_too_short`, `password_too_common`, `password_entirely_numeric`, "
    "`password_too_similar`)."
)


class PasswordResetView(CredentialsView):
    throttle_classes = PASSWORD_RESET_THROTTLES

    @extend_schema(
        summary="Email a password-reset link",
        description=(
            "Always 204, whether or not an account has this address (the answer never tells). "
            "When one does, the worker emails it a link to the shop's `/reset/<uid>/<token>/` "
            "page, valid for `PASSWORD_RESET_TIMEOUT` seconds (default 3600) and once. "
            "Throttled per client address and per email address (`THROTTLE_PASSWORD_RESET`, "
            "default 5/hour): 429 with `Retry-After`."
        ),
        request=PasswordResetRequestSerializer,
        responses={
            204: OpenApiResponse(description="Accepted (whether or not the address is known)")
        },
    )
    def post(self, request: Request) -> Response:
        body = PasswordResetRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        base_url = settings.PUBLIC_BASE_URL or f"{request.scheme}://{request.get_host()}"
        services.request_password_reset(email=body.validated_data["email"], base_url=base_url)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetConfirmView(CredentialsView):
    throttle_classes = [LoginIPThrottle]

    @extend_schema(
        summary="Set a new password with an emailed reset link",
        description=(
            "`uid` and `token` come from the link (`/reset/<uid>/<token>/`). 204: the password is "
            "set and every session of the account is signed out (its tokens carry a hash of "
            "the old password); sign in again with the new one. The link then no longer works."
        ),
        request=PasswordResetConfirmSerializer,
        responses={
            204: OpenApiResponse(description="Password set; all sessions signed out"),
            400: OpenApiResponse(response=ErrorResponse400Serializer, description=PASSWORD_400),
        },
    )
    def post(self, request: Request) -> Response:
        body = PasswordResetConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.reset_password(**body.validated_data)
        except DjangoValidationError as exc:
            raise _password_errors(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(AuthView):
    permission_classes = [IsAuthenticated]
    # Per client address, and on the login counter of the user's own name.
    throttle_classes = [LoginIPThrottle, LoginUserThrottle]

    @extend_schema(
        summary="Change the signed-in user's password",
        description=(
            "Every session of the account is signed out (its tokens carry a hash of the old "
            "password). A cookie client (the browser) gets fresh auth cookies in this response "
            "and stays signed in; a Bearer client gets new tokens from `POST /api/v1/auth/token/`."
        ),
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(description="Changed; a cookie client's auth cookies are renewed"),
            400: OpenApiResponse(
                response=ErrorResponse400Serializer,
                description=(
                    "Invalid input. Codes: `password_incorrect` (attr `old_password`); Django's "
                    "password validators (attr `new_password`: `password_too_short`, "
                    "`password_too_common`, `password_entirely_numeric`, `password_too_similar`)."
                ),
            ),
        },
    )
    def post(self, request: Request) -> Response:
        body = PasswordChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            user = services.change_password(user=cast(User, request.user), **body.validated_data)
        except DjangoValidationError as exc:
            raise _password_errors(exc) from exc
        response = Response(status=status.HTTP_204_NO_CONTENT)
        if not request.META.get(jwt_settings.AUTH_HEADER_NAME):
            # Signed in by cookie (the Authorization header wins when both are sent): renew the
            # cookies, which the change just revoked, so this browser stays signed in.
            refresh = RefreshToken.for_user(user)
            set_auth_cookies(response, access=str(refresh.access_token), refresh=str(refresh))
        return response


password_urls = [
    ("password/", PasswordChangeView),
    ("password-reset/", PasswordResetView),
    ("password-reset/confirm/", PasswordResetConfirmView),
]

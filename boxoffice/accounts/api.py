"""Auth and user endpoints. Thin: parse, call a service or simplejwt, render."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import authenticate
from django.middleware.csrf import get_token
from django.utils.http import is_same_domain
from django.utils.translation import get_language_from_request
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import (
    AuthenticationFailed,
    PermissionDenied,
    ValidationError,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from boxoffice.core.errors import Invalid
from boxoffice.core.i18n import supported
from boxoffice.core.parsers import JSONParser
from boxoffice.core.throttling import (
    LOGIN_THROTTLES,
)

from . import services
from .authentication import enforce_csrf
from .cookies import clear_auth_cookies, set_auth_cookies
from .models import User
from .permissions import IsAdmin


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "username", "email", "role", "language"]
        read_only_fields = fields
        extra_kwargs = {
            "language": {"help_text": "The language of the user's emails (settings.LANGUAGES)."}
        }


def _language_field(**kwargs: Any) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=settings.LANGUAGES, **kwargs)


class MeUpdateSerializer(serializers.Serializer):
    language = _language_field(help_text="The language of the user's emails.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Only the language is the user's to change: a role, a name or a flag sent along is
        # refused by name (400 read_only), never silently dropped.
        others = sorted(set(self.initial_data) - set(self.fields))
        if others:
            raise ValidationError(
                {name: ["This field cannot be changed here."] for name in others},
                code="read_only",
            )
        return attrs


class RegisterSerializer(serializers.Serializer):
    username = serializers.RegexField(
        r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": "Letters, digits and @/./+/-/_ only."},
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        write_only=True, max_length=128, style={"input_type": "password"}
    )
    language = _language_field(
        required=False,
        help_text=(
            "The language of the customer's emails. Omitted: the request's own (the language "
            "cookie, then Accept-Language, then English)."
        ),
    )

    def validate_username(self, value: str) -> str:
        if User.objects.filter(username__iexact=value).exists():
            raise ValidationError("A user with that username already exists.", code="unique")
        return value

    def validate_email(self, value: str) -> str:
        if User.objects.filter(email__iexact=value).exists():
            raise ValidationError("A user with that email already exists.", code="unique")
        return value


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, style={"input_type": "password"})


class LoginResponseSerializer(serializers.Serializer):
    user = UserSerializer()


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class RefreshRequestSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        required=False, help_text="Omit when the refresh_token cookie is sent."
    )


def _authenticate(request: Request) -> User:
    creds = CredentialsSerializer(data=request.data)
    creds.is_valid(raise_exception=True)
    user = authenticate(
        request._request,
        username=creds.validated_data["username"],
        password=creds.validated_data["password"],
    )
    if user is None:
        raise AuthenticationFailed("Wrong username or password.", code="invalid_credentials")
    return user


class AuthView(APIView):
    openapi_tags = ["auth"]
    permission_classes = [AllowAny]


class CredentialsView(AuthView):
    """Endpoints that take their credentials in the body, so no authentication class runs (and
    no CSRF check applies to signing in). Without an authentication class DRF would turn a
    failed sign-in into 403; the challenge below keeps it the 401 that docs/api.md promises."""

    authentication_classes: list = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class RegisterView(AuthView):
    @extend_schema(
        summary="Create a customer account",
        request=RegisterSerializer,
        responses={201: UserSerializer},
    )
    def post(self, request: Request) -> Response:
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        # The API answers in English (core.i18n), so the request's language is read here.
        fields.setdefault(
            "language",
            supported(get_language_from_request(request._request)) or settings.LANGUAGE_CODE,
        )
        # A refused password, or a name taken a moment ago: Django's ValidationError naming the
        # field, a 400 by the exception handler.
        user = services.register_user(**fields)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


def _refuse_cross_site(request: Request) -> None:
    """Login CSRF: a page on another site must not sign the visitor's browser in to an account
    of its choosing. A browser names the page that sent a POST in ``Origin`` (or, older ones,
    ``Referer``); refuse any but our own site and the origins we trust. Clients that send
    neither are not browsers (curl, generated clients) and cannot be driven by another site;
    the JSON-only body is the second lock (a cross-site form cannot send JSON)."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        referer = request.META.get("HTTP_REFERER")
        if referer is None:
            return
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else referer
    if not _trusted_origin(request, origin):
        raise PermissionDenied(
            f"CSRF failed: sign-in from {origin} is not allowed; sign in from this site "
            "or from an origin in CSRF_TRUSTED_ORIGINS or CORS_ALLOWED_ORIGINS."
        )


def _trusted_origin(request: Request, origin: str) -> bool:
    """Our own scheme and host, or an origin of CSRF_TRUSTED_ORIGINS (``https://*.example.com``
    wildcards as Django reads them) or CORS_ALLOWED_ORIGINS."""
    if origin == f"{request.scheme}://{request.get_host()}":
        return True
    trusted = [*settings.CSRF_TRUSTED_ORIGINS, *settings.CORS_ALLOWED_ORIGINS]
    if origin in trusted:
        return True
    parts = urlsplit(origin)
    for entry in trusted:
        allowed = urlsplit(entry)
        if (
            "*" in allowed.netloc
            and allowed.scheme == parts.scheme
            and is_same_domain(parts.netloc, allowed.netloc.removeprefix("*"))
        ):
            return True
    return False


class LoginView(CredentialsView):
    throttle_classes = LOGIN_THROTTLES
    # JSON only: an HTML form on another site can post form-encoded, multipart or text/plain
    # bodies, never application/json (that needs a CORS preflight only our origins pass).
    parser_classes = [JSONParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        _refuse_cross_site(request)  # before the throttles: a refused page spends nothing
        super().initial(request, *args, **kwargs)

    @extend_schema(
        summary="Sign in a browser client (sets HttpOnly JWT cookies and csrftoken)",
        request=CredentialsSerializer,
        responses={200: LoginResponseSerializer},
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        refresh = RefreshToken.for_user(user)
        response = Response({"user": UserSerializer(user).data})
        set_auth_cookies(response, access=str(refresh.access_token), refresh=str(refresh))
        get_token(request._request)  # makes CsrfViewMiddleware set the csrftoken cookie
        return response


class CsrfView(CredentialsView):
    @extend_schema(
        summary="Get a csrftoken cookie",
        request=None,
        responses={204: OpenApiResponse(description="csrftoken cookie set")},
    )
    def get(self, request: Request) -> Response:
        get_token(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenView(CredentialsView):
    throttle_classes = LOGIN_THROTTLES

    @extend_schema(
        summary="Get a JWT pair for API clients",
        request=CredentialsSerializer,
        responses={200: TokenPairSerializer},
    )
    def post(self, request: Request) -> Response:
        user = _authenticate(request)
        refresh = RefreshToken.for_user(user)
        return Response({"access": str(refresh.access_token), "refresh": str(refresh)})


def _refresh_from(request: Request) -> tuple[str, bool]:
    """The refresh token from the body, else from the cookie; and whether it came from a cookie."""
    body = RefreshRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    if body.validated_data.get("refresh"):
        return body.validated_data["refresh"], False
    cookie = request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
    if cookie:
        # The browser sent this credential by itself: the request must prove it came from
        # our own pages.
        enforce_csrf(request._request)
        return cookie, True
    raise Invalid("No refresh token in the body or the cookie.", code="required", attr="refresh")


def _refuse_if_password_changed(raw: str) -> None:
    """simplejwt checks the password-hash claim on access tokens only; a refresh token minted
    before a password change must not mint new access tokens either."""
    try:
        # simplejwt annotates its token argument as a Token; it takes the encoded string.
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except TokenError as exc:
        raise AuthenticationFailed(str(exc), code="token_not_valid") from exc
    user = User.objects.filter(pk=token.get(jwt_settings.USER_ID_CLAIM)).first()
    if user is None or not user.is_active:
        raise AuthenticationFailed(
            "No active account found for the given token.", code="token_not_valid"
        )
    if jwt_settings.CHECK_REVOKE_TOKEN and token.get(
        jwt_settings.REVOKE_TOKEN_CLAIM
    ) != get_md5_hash_password(user.password):
        raise AuthenticationFailed(
            "The password has changed; sign in again.", code="token_not_valid"
        )


class RefreshView(CredentialsView):
    throttle_classes = LOGIN_THROTTLES[:1]

    @extend_schema(
        summary="Rotate the refresh token and get a new access token",
        request=RefreshRequestSerializer,
        responses={200: TokenPairSerializer},
    )
    def post(self, request: Request) -> Response:
        raw, from_cookie = _refresh_from(request)
        _refuse_if_password_changed(raw)
        serializer = TokenRefreshSerializer(data={"refresh": raw})
        try:
            serializer.is_valid(raise_exception=True)
        except TokenError as exc:
            raise AuthenticationFailed(str(exc), code="token_not_valid") from exc
        except User.DoesNotExist as exc:  # simplejwt looks the user up and lets this escape
            raise AuthenticationFailed(
                "No active account found for the given token.", code="token_not_valid"
            ) from exc
        data = serializer.validated_data
        response = Response({"access": data["access"], "refresh": data.get("refresh", raw)})
        if from_cookie:
            set_auth_cookies(response, access=data["access"], refresh=data.get("refresh"))
        return response


class LogoutRequestSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        required=False,
        help_text=(
            "The refresh token to revoke. Required for Bearer clients; browsers omit it and "
            "the refresh_token cookie is revoked instead."
        ),
    )


def _revoke_refresh(raw: str, *, user: User) -> None:
    """Blacklist the refresh token ``raw`` of ``user``. One that is expired or already
    blacklisted has nothing left to revoke; anything else that is not a refresh token of this
    user is refused (400 on ``refresh``)."""
    try:
        # simplejwt annotates its token argument as a Token; it takes the encoded string.
        token = RefreshToken(raw)  # type: ignore[arg-type]
    except ExpiredTokenError:
        return
    except TokenError as exc:
        if BlacklistedToken.objects.filter(token__token=raw).exists():
            return  # signed out before: done already
        raise Invalid(f"{exc}.", code="token_not_valid", attr="refresh") from exc
    if str(token.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise Invalid(
            "This refresh token belongs to another account.",
            code="token_not_valid",
            attr="refresh",
        )
    token.blacklist()


class LogoutView(AuthView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema(
        summary="Sign out: blacklist the refresh token and clear the cookies",
        description=(
            "Revokes the session's refresh token, so it can no longer mint access tokens, and "
            'clears the auth cookies. Bearer clients send `{"refresh": "..."}` (400 '
            "without it); browsers send nothing and their `refresh_token` cookie is revoked. "
            "The access token stays valid until it expires (minutes): drop it."
        ),
        request=LogoutRequestSerializer,
        responses={204: OpenApiResponse(description="signed out")},
    )
    def post(self, request: Request) -> Response:
        body = LogoutRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        raw = body.validated_data.get("refresh") or request.COOKIES.get(settings.JWT_REFRESH_COOKIE)
        if raw:
            # IsAuthenticated: request.user is a User here, never an AnonymousUser.
            _revoke_refresh(raw, user=cast(User, request.user))
        elif request.META.get(jwt_settings.AUTH_HEADER_NAME):
            # A Bearer client: the refresh token it holds is the session; without it nothing
            # would be revoked and the client would believe it had signed out.
            raise Invalid(
                'Send the refresh token to revoke: {"refresh": "..."}.',
                code="required",
                attr="refresh",
            )
        # else a browser whose refresh cookie is gone: nothing to revoke, clear the rest.
        response = Response(status=status.HTTP_204_NO_CONTENT)
        clear_auth_cookies(response)
        return response


class MeView(AuthView):
    permission_classes = [IsAuthenticated]

    @extend_schema(summary="The signed-in user", responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        summary="Change the signed-in user's language",
        description=(
            "The language of the user's emails (receipts, cancellations, password resets), "
            "one of `en`, `de`. The shop's account page uses it. 400 `invalid_choice` "
            "(attr `language`) for any other; 400 `read_only` naming any other field sent "
            "(the role, the username, ... are not the user's to change)."
        ),
        request=MeUpdateSerializer,
        responses={200: UserSerializer},
    )
    def patch(self, request: Request) -> Response:
        body = MeUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        user = cast(User, request.user)
        if "language" in body.validated_data:  # PATCH: what is sent changes, nothing else
            user = services.set_language(user=user, language=body.validated_data["language"])
        return Response(UserSerializer(user).data)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    openapi_tags = ["users"]
    permission_classes = [IsAdmin]
    serializer_class = UserSerializer
    queryset = User.objects.order_by("id")
    filterset_fields = ["role"]

    @extend_schema(summary="List users (admin)")
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(summary="One user (admin)")
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        summary="Make a user an administrator", request=None, responses={200: UserSerializer}
    )
    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: str | None = None) -> Response:
        user = services.promote_user(user=self.get_object())
        return Response(UserSerializer(user).data)


auth_urls = [
    ("register/", RegisterView),
    ("login/", LoginView),
    ("csrf/", CsrfView),
    ("token/", TokenView),
    ("refresh/", RefreshView),
    ("logout/", LogoutView),
    ("me/", MeView),
]

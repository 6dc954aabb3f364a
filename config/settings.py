"""boxoffice settings: one module, every value read from the environment (12-factor).

The defaults give the embedded development setup (SQLite, DEBUG on, console email).
Production sets ``DJANGO_DEBUG=0``, ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS`` and
``DATABASE_URL``; with those, ``manage.py check --deploy`` passes without a warning.
Every variable is listed with its default in the README.
"""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-boxoffice-development-only-never-use-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", _DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "boxoffice.core",
    "boxoffice.accounts",
    "boxoffice.catalog",
    "boxoffice.schedule",
    "boxoffice.booking",
    "boxoffice.payments",
    "boxoffice.notifications",
    "boxoffice.reports",
    "boxoffice.live",
    "boxoffice.waitlist",
    "boxoffice.shop",
    "django_tasks_db",
]

MIDDLEWARE = [
    "boxoffice.core.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Pages follow the language switch's cookie, then Accept-Language; /api/ stays English.
    "boxoffice.core.i18n.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# SQLite by default: nothing to install. PostgreSQL through DATABASE_URL, with persistent,
# health-checked connections (CONN_MAX_AGE + CONN_HEALTH_CHECKS).

DATABASE_URL = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: every atomic block takes SQLite's single write lock when it begins, so a
        # check-then-insert (such as the showtime overlap check) is serialised between
        # processes, and a writer waits for the lock instead of failing on upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The test database is a file too (pytest-django suffixes its name per xdist worker, e.g.
    # db.sqlite3-test_gw0): in memory, a live server's threads would share the test's one
    # connection; in a file each thread has its own, as each request has in production.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "db.sqlite3-test")}

# --- Cache ------------------------------------------------------------------------------------
# Throttle counters must be shared by every server process. The database cache needs nothing
# beyond the database we already run; CACHE_URL=redis://... switches to Redis when the request
# rate makes the extra queries matter.

CACHE_URL = env("CACHE_URL", "db://")
if CACHE_URL.startswith("redis://") or CACHE_URL.startswith("rediss://"):
    CACHES: dict[str, dict[str, Any]] = {
        # Django's backend with one client per process (see the module).
        "default": {"BACKEND": "boxoffice.core.cache.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL.startswith("locmem://"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL.startswith("db://"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "boxoffice_cache",
            # The default (300) would cull seat maps and throttle counters far too often.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
else:
    raise ImproperlyConfigured(
        f"CACHE_URL must be db://, locmem:// or redis://..., got {CACHE_URL!r}"
    )

# --- Auth -------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Passwords in tests are hashed with a fast hasher; see tests/conftest.py.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a hash of the password: changing it signs out every session at once.
    "CHECK_REVOKE_TOKEN": True,
}

# Password reset (POST /api/v1/auth/password-reset/): a link is valid this long after the email
# is composed, and once (Django's token changes with the password). Django's own default is 3
# days; an hour is plenty for a link someone is waiting for.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
# Where the shop is, for absolute links in emails (``https://tickets.example.com``). Empty: the
# scheme and host of the request that asked for the email (one of ALLOWED_HOSTS).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL").rstrip("/")

# Cookie names and flags for browser clients (see boxoffice/accounts/cookies.py).
JWT_ACCESS_COOKIE = "access_token"
JWT_REFRESH_COOKIE = "refresh_token"
JWT_COOKIE_SECURE = env_bool("JWT_COOKIE_SECURE", not DEBUG)
JWT_COOKIE_SAMESITE: Literal["Lax", "Strict", "None"] = "Lax"

CSRF_COOKIE_SECURE = JWT_COOKIE_SECURE
CSRF_COOKIE_SAMESITE = "Lax"
# The browser client reads the csrftoken cookie and echoes it in X-CSRFToken.
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True

# --- REST framework ---------------------------------------------------------------------------

THROTTLE_LOGIN = env("THROTTLE_LOGIN", "10/minute")
THROTTLE_USER = env("THROTTLE_USER", "1200/minute")
THROTTLE_ANON = env("THROTTLE_ANON", "600/minute")
# Password-reset requests, per client address and per email address (each its own counter).
THROTTLE_PASSWORD_RESET = env("THROTTLE_PASSWORD_RESET", "5/hour")

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "boxoffice.accounts.authentication.CookieOrHeaderJWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "boxoffice.core.throttling.AnonThrottle",
        "boxoffice.core.throttling.UserThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": THROTTLE_ANON,
        "user": THROTTLE_USER,
        "login_ip": THROTTLE_LOGIN,
        "login_username": THROTTLE_LOGIN,
        "password_reset_ip": THROTTLE_PASSWORD_RESET,
        "password_reset_email": THROTTLE_PASSWORD_RESET,
    },
    "DEFAULT_PAGINATION_CLASS": "boxoffice.core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "boxoffice.core.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    # Request bodies are JSON; only the poster upload (the movie views) adds multipart.
    "DEFAULT_PARSER_CLASSES": ["boxoffice.core.parsers.JSONParser"],
    # 0: trust REMOTE_ADDR only. DRF reads None as "trust X-Forwarded-For", which would let any
    # client dodge the per-address throttles; behind N proxies set NUM_PROXIES=N.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "COERCE_DECIMAL_TO_STRING": True,
    # Request bodies are JSON (multipart only for poster uploads): so are the test client's.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

DRF_STANDARDIZED_ERRORS = {
    # One generic 400 shape: codes also come from services and filters, not only serializers.
    "ERROR_SCHEMAS": {
        "400": "boxoffice.core.errors.ErrorResponse400Serializer",
        "401": "boxoffice.core.errors.ErrorResponse401Serializer",
    },
    # Adds Django's SuspiciousOperation family (a body too large, ...) as 400s.
    "EXCEPTION_HANDLER_CLASS": "boxoffice.core.errors.ExceptionHandler",
    # 405 is left out: a client generated from the schema only calls documented methods. 409,
    # 422, 502 and 503 are declared per operation (boxoffice.core.openapi.ErrorDoc).
    "ALLOWED_ERROR_STATUS_CODES": ["400", "401", "403", "404", "415", "429"],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "boxoffice API",
    "DESCRIPTION": (
        "Cinema reservation backend: catalog, schedule, seat maps, holds and bookings.\n\n"
        "Browser clients sign in with `POST /api/v1/auth/login/` (HttpOnly cookies; unsafe "
        "requests then carry `X-CSRFToken`). API clients use `POST /api/v1/auth/token/` and "
        "send `Authorization: Bearer <access>`."
    ),
    "VERSION": "1.0.0",
    "LICENSE": {"name": "MIT", "identifier": "MIT"},
    # Relative: the API is wherever this schema is served from.
    "SERVERS": [{"url": "/", "description": "The server that serves this schema"}],
    # 3.1: a nullable object is `oneOf: [{$ref}, {type: null}]`, which 3.0 cannot say.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"persistAuthorization": True, "withCredentials": True},
    "ENUM_NAME_OVERRIDES": {
        "ValidationErrorEnum": "drf_standardized_errors.openapi_serializers.ValidationErrorEnum.choices",
        "ClientErrorEnum": "drf_standardized_errors.openapi_serializers.ClientErrorEnum.choices",
        "ServerErrorEnum": "drf_standardized_errors.openapi_serializers.ServerErrorEnum.choices",
        "ErrorCode401Enum": "boxoffice.core.errors.Error401Code.choices",
        "ErrorCode403Enum": "drf_standardized_errors.openapi_serializers.ErrorCode403Enum.choices",
        "ErrorCode404Enum": "drf_standardized_errors.openapi_serializers.ErrorCode404Enum.choices",
        "ErrorCode405Enum": "drf_standardized_errors.openapi_serializers.ErrorCode405Enum.choices",
        "ErrorCode406Enum": "drf_standardized_errors.openapi_serializers.ErrorCode406Enum.choices",
        "ErrorCode415Enum": "drf_standardized_errors.openapi_serializers.ErrorCode415Enum.choices",
        "ErrorCode429Enum": "drf_standardized_errors.openapi_serializers.ErrorCode429Enum.choices",
        "ErrorCode500Enum": "drf_standardized_errors.openapi_serializers.ErrorCode500Enum.choices",
        "RoleEnum": "boxoffice.accounts.models.Role.choices",
        "TierEnum": "boxoffice.catalog.models.Tier.choices",
        "ShowtimeStatusEnum": "boxoffice.schedule.models.ShowtimeStatus.choices",
        "BookingStatusEnum": "boxoffice.booking.models.BookingStatus.choices",
        "WaitlistEntryStatusEnum": "boxoffice.waitlist.models.EntryStatus.choices",
        "SeatStatusEnum": ["available", "held", "booked"],
        "SeatKindEnum": "boxoffice.catalog.models.SeatKind.choices",
        "ErrorTypeEnum": ["validation_error", "client_error"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "boxoffice.core.openapi.explicit_no_security",
    ],
    "TAGS": [
        {"name": "auth", "description": "Sign-up, sign-in, tokens and cookies"},
        {"name": "users", "description": "User administration"},
        {"name": "catalog", "description": "Genres, movies, theaters, screens and seats"},
        {"name": "schedule", "description": "Showtimes"},
        {"name": "bookings", "description": "Seat maps, holds, bookings and cancellations"},
        {"name": "pricing", "description": "Price factors (admin)"},
        {"name": "reports", "description": "Occupancy and revenue (admin)"},
        {"name": "payments", "description": "Stripe webhook intake"},
        {"name": "checkin", "description": "Ticket check-in at the door (admin)"},
        {"name": "waitlist", "description": "Waiting for seats of a sold-out show, and offers"},
    ],
}

# --- CORS -------------------------------------------------------------------------------------
# Explicit origins only; credentials allowed so browser apps on those origins can use cookies.

CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/.*$"
# The browser app sends these beyond django-cors-headers' defaults, and reads these back.
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key", "x-request-id")
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID", "Idempotent-Replayed", "Date"]

# --- Internationalisation ---------------------------------------------------------------------

# The shop, the check-in page and the customer's emails speak these languages (docs/
# translations.md). The catalogs live in boxoffice/locale, compiled (.mo) in the repository, so
# nothing at runtime needs GNU gettext. Adding a language: an entry here, its catalogs, and a
# migration for the check constraint on User.language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "boxoffice" / "locale"]
LANGUAGE_COOKIE_NAME = "boxoffice_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = JWT_COOKIE_SECURE
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / env("STATIC_ROOT", "staticfiles")
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "media")))
# The application serves MEDIA_URL from MEDIA_ROOT (boxoffice.core.media), DEBUG or not; 0 when
# a web server or CDN in front serves it.
MEDIA_SERVE = env_bool("MEDIA_SERVE", True)
MEDIA_CACHE_SECONDS = env_int("MEDIA_CACHE_SECONDS", 3600)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the finders in development and tests, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Request bodies: uploads above this go to a temporary file; bodies above DATA_UPLOAD_MAX_MEMORY_SIZE
# (non-file fields) are refused by Django with 400.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Poster uploads (validated with Pillow in boxoffice/catalog/images.py).
POSTER_MAX_BYTES = env_int("POSTER_MAX_BYTES", 5 * 1024 * 1024)
POSTER_MAX_PIXELS = env_int("POSTER_MAX_PIXELS", 25_000_000)

# --- Security (production) --------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- Business settings ------------------------------------------------------------------------

DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", "usd").lower()
DEFAULT_CLEANING_MINUTES = 15
BOOKING_HOLD_SECONDS = env_int("BOOKING_HOLD_SECONDS", 600)
BOOKING_MAX_SEATS = env_int("BOOKING_MAX_SEATS", 10)
BOOKING_CANCEL_CUTOFF_MINUTES = env_int("BOOKING_CANCEL_CUTOFF_MINUTES", 60)
# How long seats offered to a waitlist entry are held for it (boxoffice/waitlist).
WAITLIST_OFFER_MINUTES = env_int("WAITLIST_OFFER_MINUTES", 30)
# Wheelchair spaces (and their companion seats) go to general sale this long before the show.
ACCESSIBLE_RELEASE_MINUTES = env_int("ACCESSIBLE_RELEASE_MINUTES", 60)
# The longest a booking transaction waits for a lock (PostgreSQL lock_timeout); past it the
# request is rolled back and answered 503 lock_timeout with Retry-After (boxoffice/booking/locks.py).
DB_LOCK_TIMEOUT_MS = env_int("DB_LOCK_TIMEOUT_MS", 5000)
# --- Live seat map (server-sent events; boxoffice/live) -----------------------------------------
# How changes cross processes and hosts: auto (Redis when CACHE_URL is Redis, else PostgreSQL
# LISTEN/NOTIFY, else polling the feed table on SQLite), postgres, redis or poll.
LIVE_TRANSPORT = env("LIVE_TRANSPORT", "auto")
LIVE_REDIS_URL = env("LIVE_REDIS_URL")  # default: CACHE_URL
LIVE_HEARTBEAT_SECONDS = float(env("LIVE_HEARTBEAT_SECONDS", "15"))
LIVE_RETRY_MS = env_int("LIVE_RETRY_MS", 2000)  # EventSource's reconnection delay
LIVE_POLL_SECONDS = float(env("LIVE_POLL_SECONDS", "0.25"))  # the poll transport, WSGI streams
LIVE_CATCHUP_SECONDS = float(env("LIVE_CATCHUP_SECONDS", "5"))  # safety net for lost notices
# A process's first stream waits up to this long for the process's LISTEN (or SUBSCRIBE) to be in
# place before it reads its snapshot; past it, the stream starts and the catch-up read covers.
LIVE_LISTEN_WAIT_SECONDS = float(env("LIVE_LISTEN_WAIT_SECONDS", "10"))
LIVE_LAPSE_CHECK_SECONDS = float(env("LIVE_LAPSE_CHECK_SECONDS", "0.5"))
LIVE_MAX_STREAMS = env_int("LIVE_MAX_STREAMS", 5000)  # per server process; beyond: 503
# Open streams per client address (the throttles' address, NUM_PROXIES), across every process
# and host: beyond, a 429. Each open stream holds a lease in the shared cache, renewed while it
# runs: a process that dies without closing its streams frees their leases within
# LIVE_STREAM_LEASE_SECONDS. 0: no cap.
LIVE_MAX_STREAMS_PER_CLIENT = env_int("LIVE_MAX_STREAMS_PER_CLIENT", 20)
LIVE_STREAM_LEASE_SECONDS = env_int("LIVE_STREAM_LEASE_SECONDS", 120)
LIVE_WSGI_STREAM_SECONDS = env_int("LIVE_WSGI_STREAM_SECONDS", 300)  # then the client reconnects
SEATMAP_FEED_RETENTION_HOURS = env_int("SEATMAP_FEED_RETENTION_HOURS", 24)

# Doors open this long before a show starts; tickets admit from then until the show ends.
CHECKIN_OPENS_MINUTES = env_int("CHECKIN_OPENS_MINUTES", 120)
# Price factors used until an admin saves a pricing policy (see boxoffice/booking/pricing.py).
PRICE_FACTORS = {
    "standard": Decimal("1.00"),
    "premium": Decimal("1.25"),
    "vip": Decimal("1.50"),
    "morning": Decimal("0.80"),
}

# --- Payments (Stripe) ------------------------------------------------------------------------
# STRIPE_API_BASE points the official client at localstripe in development and tests; unset, it
# talks to Stripe itself. The development keys are localstripe's: any sk_/pk_ string works there.

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "sk_test_boxoffice_local" if DEBUG else "")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", "pk_test_boxoffice_local" if DEBUG else "")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "whsec_boxoffice_local" if DEBUG else "")
STRIPE_API_BASE = env("STRIPE_API_BASE", "http://127.0.0.1:8420" if DEBUG else "")
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 10)
# The shop's test-card door (boxoffice/shop/dev.py) is routed in development with localstripe
# only: decided here, as configured (the test runner turns DEBUG off later; its browser tests
# pay through the door). Each request still needs sk_test_ keys.
SHOP_DEV_ROUTES = DEBUG and bool(STRIPE_API_BASE)
# Events older than this (by their signed timestamp) are refused: replay protection.
STRIPE_WEBHOOK_TOLERANCE_SECONDS = env_int("STRIPE_WEBHOOK_TOLERANCE_SECONDS", 300)

# --- Tickets ----------------------------------------------------------------------------------

TICKET_SIGNING_KEY = env("TICKET_SIGNING_KEY", SECRET_KEY)

# --- Background tasks -------------------------------------------------------------------------
# Django's tasks framework with django-tasks-db: enqueueing is an INSERT in the caller's
# transaction, so a receipt is queued if and only if the confirmation commits.
# Run the worker with `python manage.py db_worker`.

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
TASK_RETRY_LIMIT = env_int("TASK_RETRY_LIMIT", 8)
TASK_RETRY_BASE_SECONDS = env_int("TASK_RETRY_BASE_SECONDS", 30)
# A task RUNNING for longer than this is assumed to belong to a dead worker and is re-queued.
TASK_STALE_SECONDS = env_int("TASK_STALE_SECONDS", 600)
# How often each worker re-queues stale tasks, tidies lapsed holds and reconciles payments.
WORKER_HOUSEKEEPING_SECONDS = env_int("WORKER_HOUSEKEEPING_SECONDS", 60)

# --- Email ------------------------------------------------------------------------------------
# EMAIL_URL=smtp://host:port (smtp+tls:// for STARTTLS, user:password@ for auth). Unset: the
# console in DEBUG, and a refusal to start otherwise.

EMAIL_URL = env("EMAIL_URL")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "boxoffice <tickets@boxoffice.example>")


def _mailers(url: str) -> dict:
    from urllib.parse import unquote, urlsplit

    if not url:
        if not DEBUG:
            raise ImproperlyConfigured("EMAIL_URL must be set when DJANGO_DEBUG=0")
        return {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtp+tls", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL must be smtp://, smtp+tls:// or smtps://, got {url!r}"
        )
    options: dict = {
        "host": parts.hostname or "localhost",
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "timeout": 10,
        "use_tls": parts.scheme == "smtp+tls",
        "use_ssl": parts.scheme == "smtps",
    }
    if parts.username:
        options["username"] = unquote(parts.username)
        options["password"] = unquote(parts.password or "")
    return {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}
    }


MAILERS = _mailers(EMAIL_URL)

# --- Logging ----------------------------------------------------------------------------------

LOG_FORMAT = env("LOG_FORMAT", "plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "boxoffice.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "boxoffice.core.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The stripe client logs every request URL at INFO; keep its noise (never secrets) down.
        "stripe": {"level": "WARNING"},
    },
}

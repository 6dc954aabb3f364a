"""Which language a request is answered in (docs/translations.md).

Pages (the shop, the check-in page, the admin site) follow Django's order: the language cookie
that the language switch sets (``set_language``), then ``Accept-Language``, then
``LANGUAGE_CODE``. URLs carry no language prefix: a link or a bookmark is the same page in
every language.

The API is a contract for programs: its error ``detail`` stays English whatever the client
asks for (the ``code`` is what a client translates), so requests under ``/api/`` are answered
in ``LANGUAGE_CODE`` and do not vary by ``Accept-Language``. Without this, DRF's and Django's
own messages ("This field is required.", the password validators') would come back in German
to a browser that prefers German.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def supported(language: str | None) -> str | None:
    """``language`` as one of ``LANGUAGES``' codes (``de-AT`` -> ``de``), or None."""
    if not language:
        return None
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return None


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware for pages; English, not varying, for the API."""

    def process_request(self, request: HttpRequest) -> None:
        if is_api(request):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return
        super().process_request(request)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if is_api(request):
            return response
        return super().process_response(request, response)

"""The words of the shop's scripts, handed to them the CSP-safe way.

The ES modules in ``shop/static/shop/`` mark their words with ``gettext()``/``ngettext()`` from
``shop/i18n.js``; ``makemessages -d djangojs`` finds them there, as Django's own JavaScript
catalog would. Rather than a script that defines a global catalog (Django's
``JavaScriptCatalog`` view: one more request per page, and a response that must vary by
language), every page carries its language's catalog as data, in a
``<script type="application/json" id="shop-i18n">`` element (``{% shop_i18n %}`` in
``base.html``): data, not code, so the page's Content-Security-Policy (no inline scripts) holds,
and the words arrive with the page that needs them. ``i18n.js`` reads it once.

The element also carries how money reads in that language (:func:`boxoffice.core.money.money_style`),
so a price the script adds up is written as the server writes it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation.trans_real import DjangoTranslation
from django.views.i18n import JavaScriptCatalog

from boxoffice.core.money import money_style

DOMAIN = "djangojs"


@cache
def _catalog(language: str) -> dict[str, Any]:
    view = JavaScriptCatalog(domain=DOMAIN)
    # Our own catalogs only (LOCALE_PATHS): not the admin site's JavaScript words.
    view.translation = DjangoTranslation(
        language, domain=DOMAIN, localedirs=[str(p) for p in settings.LOCALE_PATHS]
    )
    return view.get_catalog()


def page_data(language: str | None = None) -> dict[str, Any]:
    """What ``shop/i18n.js`` reads: the language, its catalog (msgid -> translation, a list of
    forms for plurals) and its money style."""
    language = language or get_language() or settings.LANGUAGE_CODE
    return {"language": language, "catalog": _catalog(language), "money": money_style(language)}

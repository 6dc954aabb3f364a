"""The account pages: forgotten password, the emailed reset link, and the signed-in user's
account (change the password). Server-rendered forms whose script (``shop/account.js``) calls
the public API like any other client: ``/api/v1/auth/password-reset/``, its ``confirm/`` and
``/api/v1/auth/password/``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .csp import with_csp
from .session import visitor


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    who = visitor(request)
    return render(request, f"shop/{template}", {"visitor": who, "shop_user": who.user, **context})


@with_csp
@require_GET
def forgot(request: HttpRequest) -> HttpResponse:
    return _page(request, "forgot.html", {})


@with_csp
@require_GET
def reset(request: HttpRequest, uid: str, token: str) -> HttpResponse:
    """The emailed link's page. The API checks the link when the form is sent. The address is
    a credential until used: no cache keeps it, and no Referer carries it anywhere."""
    response = _page(request, "reset.html", {"uid": uid, "token": token})
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@with_csp
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    who = visitor(request)
    if who.user is None:
        if who.needs_refresh:
            return _page(request, "refresh.html", {})
        return HttpResponseRedirect("/signin/?" + urlencode({"next": request.get_full_path()}))
    return _page(request, "account.html", {})

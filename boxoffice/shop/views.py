"""The shop's pages. Each renders a server-side page (what a reader needs at once: shows,
prices, times in the theatre's own zone) and leaves the actions to small ES modules that call
the public API with the visitor's cookies, as any other client would."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections import OrderedDict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from boxoffice.booking import pricing, tickets
from boxoffice.booking.api.bookings import BookingSerializer
from boxoffice.booking.models import Booking, BookingSeat, BookingStatus, Ticket
from boxoffice.booking.states import effective_status
from boxoffice.payments import gateway
from boxoffice.schedule import selectors as schedule_selectors
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from .csp import is_stripe_emulator, stripe_js_url, with_csp
from .session import Visitor, visitor

DAYS_AHEAD = 7
TIERS = ("standard", "premium", "vip")


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200):
    who: Visitor = visitor(request)
    return render(
        request,
        f"shop/{template}",
        {"visitor": who, "shop_user": who.user, **context},
        status=status,
    )


def _message(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    return _page(request, "message.html", {"title": title, "text": text}, status=status)


def _signin_redirect(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect("/signin/?" + urlencode({"next": request.get_full_path()}))


def _local(dt, tz: str):
    return dt.astimezone(ZoneInfo(tz))


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount} {currency.upper()}"


def _date_param(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        return None


@with_csp
@require_GET
def home(request: HttpRequest, now: datetime | None = None) -> HttpResponse:
    """The shows of a day, by theatre. A day is each theatre's own local date, as
    ``GET /api/v1/showtimes/?date=`` reads it, and so is "today": without a ``date`` every
    theatre lists the rest of its own today (at 20:00 UTC that is already tomorrow's date in
    Auckland and still today's in Los Angeles; the UTC date would show Auckland's yesterday).
    The day tabs after "Today" are calendar dates from the day after the earliest of the
    theatres' todays, so that no theatre's today is ever missing from them; each tab again
    means that date at each theatre. ``now``: the moment to read (tests fix it)."""
    now = now or timezone.now()
    todays = schedule_selectors.todays_by_timezone(now)
    # Without any show to come, there is no theatre to ask: the site's own (UTC) date.
    first = min(todays.values(), default=timezone.localdate(now))
    one_today = len(set(todays.values())) <= 1
    day = _date_param(request)
    if day is not None and one_today and day == first:
        day = None  # today's date typed in: the same listing as "Today"
    upcoming = schedule_selectors.showtime_list(now).filter(
        status=ShowtimeStatus.SCHEDULED, starts_at__gt=now
    )
    if day is None:
        shows = schedule_selectors.on_local_dates(upcoming, todays)
    else:
        shows = schedule_selectors.on_local_date(upcoming, day)
    policy = pricing.current_policy()
    theaters: OrderedDict[int, dict[str, Any]] = OrderedDict()
    for show in sorted(shows, key=lambda s: (s.screen.theater.name, s.movie.title, s.starts_at)):
        theater = show.screen.theater
        entry = theaters.setdefault(theater.pk, {"theater": theater, "movies": OrderedDict()})
        movie = entry["movies"].setdefault(show.movie_id, {"movie": show.movie, "shows": []})
        factor = pricing.time_factor(
            policy=policy, starts_at=show.starts_at, timezone_name=theater.timezone
        )
        from_price = min(
            pricing.seat_price(
                policy=policy,
                base_price=show.base_price,
                tier=tier,
                starts_at=show.starts_at,
                timezone_name=theater.timezone,
                currency=show.currency,
            ).price
            for tier in TIERS
        )
        movie["shows"].append(
            {
                "show": show,
                "local": _local(show.starts_at, theater.timezone),
                "from_price": _money(from_price, show.currency),
                "morning": factor != 1,
                # seats_available: annotated by schedule.selectors.showtime_list
                "sold_out": show.seats_available <= 0,  # type: ignore[attr-defined]
            }
        )
    return _page(
        request,
        "home.html",
        {
            "day": day,
            "days": [first + timedelta(days=i) for i in range(1, DAYS_AHEAD)],
            "picked": day or first,
            # Theatres whose today differs: each section says which date its today is.
            "their_today": day is None and not one_today,
            "theaters": [
                {
                    "theater": t["theater"],
                    "today": todays.get(t["theater"].timezone),
                    "movies": list(t["movies"].values()),
                }
                for t in theaters.values()
            ],
        },
    )


@with_csp
@require_GET
def show(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = (
        Showtime.objects.select_related("movie", "screen__theater").filter(pk=showtime_id).first()
    )
    if showtime is None:
        return _message(request, "Show not found", "There is no such show.", 404)
    theater = showtime.screen.theater
    policy = pricing.current_policy()
    time_factor = pricing.time_factor(
        policy=policy, starts_at=showtime.starts_at, timezone_name=theater.timezone
    )
    on_sale = showtime.status == ShowtimeStatus.SCHEDULED and showtime.starts_at > timezone.now()
    config = {
        "showtime": showtime.pk,
        "maxSeats": settings.BOOKING_MAX_SEATS,
        "signedIn": visitor(request).user is not None,
        "basePrice": str(showtime.base_price),
        "timeFactor": str(time_factor),
        "tierFactors": {t: str(policy.tier_factor(t)) for t in TIERS},
        "onSale": on_sale,
    }
    return _page(
        request,
        "show.html",
        {
            "showtime": showtime,
            "movie": showtime.movie,
            "theater": theater,
            "local": _local(showtime.starts_at, theater.timezone),
            "morning": time_factor != 1,
            "time_factor": time_factor,
            "on_sale": on_sale,
            "config": config,
            "max_seats": settings.BOOKING_MAX_SEATS,
        },
    )


def _own_booking(request: HttpRequest, booking_id: int) -> Booking | None:
    who = visitor(request)
    if who.user is None:
        return None
    return (
        Booking.objects.select_related("showtime__movie", "showtime__screen__theater")
        .filter(pk=booking_id, user=who.user)
        .first()
    )


@with_csp
@require_GET
def checkout(request: HttpRequest, booking_id: int) -> HttpResponse:
    who = visitor(request)
    if who.user is None and not who.needs_refresh:
        return _signin_redirect(request)
    booking = _own_booking(request, booking_id)
    if booking is None and who.needs_refresh:
        return _page(request, "refresh.html", {})
    if booking is None:
        return _message(request, "Booking not found", "There is no such booking of yours.", 404)
    showtime = booking.showtime
    theater = showtime.screen.theater
    config = {
        "booking": booking.pk,
        "showtime": showtime.pk,
        "stripeEmulator": is_stripe_emulator(),
    }
    return _page(
        request,
        "checkout.html",
        {
            "booking": booking,
            "showtime": showtime,
            "movie": showtime.movie,
            "theater": theater,
            "local": _local(showtime.starts_at, theater.timezone),
            "stripe_js_url": stripe_js_url(),
            "config": config,
        },
    )


@require_POST
def test_card(request: HttpRequest, booking_id: int) -> HttpResponse:
    """Development and tests only (localstripe): pay the booking's open PaymentIntent with the
    card typed into localstripe's Stripe.js mock. The mock's ``confirmCardPayment`` cannot attach
    a card to an intent (it only completes 3-D Secure), so the checkout script hands the typed
    test card here, and the server attaches and confirms it as Stripe.js would. 404 with live
    keys or without STRIPE_API_BASE: production never has this door."""
    if not is_stripe_emulator():
        return JsonResponse({"error": "not found"}, status=404)
    booking = _own_booking(request, booking_id)
    if booking is None or not booking.payment_intent_id:
        return JsonResponse({"error": "not found"}, status=404)
    try:
        number = str(json.loads(request.body or b"{}").get("number", "")).replace(" ", "")
    except (ValueError, AttributeError):
        number = ""
    if not number.isdigit() or len(number) != 16:
        return JsonResponse(
            {
                "status": "error",
                "code": "incorrect_number",
                "message": "Your card number is incomplete.",
            },
            status=400,
        )
    _localstripe_allow_retry(booking.payment_intent_id)
    outcome = gateway.pay_with_test_card(intent_id=booking.payment_intent_id, card=number)
    if outcome.startswith("declined"):
        return JsonResponse(
            {"status": "declined", "code": "card_declined", "message": "Your card was declined."}
        )
    return JsonResponse({"status": outcome})


def _localstripe_allow_retry(intent_id: str) -> None:
    """Stripe lets a customer retry a declined intent with another card; localstripe keeps the
    failed charge as the intent's latest and refuses a second confirm. Forget that charge (its
    update takes any attribute, and JSON bodies), so the retry works as it would on Stripe."""
    base = settings.STRIPE_API_BASE.rstrip("/")
    request = urllib.request.Request(  # noqa: S310  (the emulator's own address, from settings)
        f"{base}/v1/payment_intents/{intent_id}",
        data=b'{"latest_charge": null}',
        headers={
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    intent = gateway.retrieve_payment_intent(intent_id)
    if intent.status == "requires_payment_method":
        with urllib.request.urlopen(request, timeout=settings.STRIPE_TIMEOUT_SECONDS):  # noqa: S310
            pass


def _ticket_qr(entry: dict[str, Any], code: str) -> str:
    """The QR image the API offers for a ticket; a PNG data URL where the API has none."""
    url = entry.get("qr") or entry.get("qr_url")
    if url:
        return str(url)
    return "data:image/png;base64," + base64.b64encode(tickets.qr_png(code)).decode()


@with_csp
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    who = visitor(request)
    if who.user is None:
        return (
            _page(request, "refresh.html", {}) if who.needs_refresh else _signin_redirect(request)
        )
    now = timezone.now()
    cutoff = timedelta(minutes=settings.BOOKING_CANCEL_CUTOFF_MINUTES)
    rows = (
        Booking.objects.filter(user=who.user)
        .select_related("showtime__movie", "showtime__screen__theater")
        .prefetch_related(
            Prefetch(
                "seats",
                queryset=BookingSeat.objects.select_related("seat", "ticket").order_by(
                    "seat__row", "seat__number"
                ),
            )
        )
        .order_by("-created_at")[:100]
    )
    items = []
    for booking in rows:
        showtime = booking.showtime
        theater = showtime.screen.theater
        status = effective_status(booking, now)
        api_tickets = {t["code"]: t for t in BookingSerializer(booking).data["tickets"]}
        seat_tickets = []
        for seat in booking.seats.all():
            ticket: Ticket | None = getattr(seat, "ticket", None)
            if status == BookingStatus.CONFIRMED and ticket is not None:
                seat_tickets.append(
                    {
                        "seat": seat.seat.label,
                        "code": ticket.code,
                        "qr": _ticket_qr(api_tickets.get(ticket.code, {}), ticket.code),
                        "used": ticket.checked_in_at is not None,
                    }
                )
        closes = showtime.starts_at - cutoff
        items.append(
            {
                "booking": booking,
                "status": status,
                "movie": showtime.movie,
                "theater": theater,
                "screen": showtime.screen,
                "local": _local(showtime.starts_at, theater.timezone),
                "seats": [s.seat.label for s in booking.seats.all()],
                "tickets": seat_tickets,
                "total": _money(booking.total, booking.currency),
                "refund": _money(booking.paid_amount or booking.total, booking.currency),
                "refunded": _money(booking.refunded_amount, booking.currency)
                if booking.refunded_amount
                else "",
                "can_cancel": status == BookingStatus.CONFIRMED and now < closes,
                "closes_local": _local(closes, theater.timezone),
                "past": showtime.starts_at <= now,
                "cutoff_minutes": settings.BOOKING_CANCEL_CUTOFF_MINUTES,
            }
        )
    focus = request.GET.get("booking", "")
    return _page(request, "bookings.html", {"items": items, "focus": focus})


@with_csp
@require_GET
def signup(request: HttpRequest) -> HttpResponse:
    return _page(request, "signup.html", {"next": _safe_next(request)})


@with_csp
@require_GET
def signin(request: HttpRequest) -> HttpResponse:
    return _page(request, "signin.html", {"next": _safe_next(request)})


DEFAULT_NEXT = "/"


def _safe_next(request: HttpRequest) -> str:
    """Where the page may send the visitor after signing in: ``next`` when Django finds it a
    URL of this very host (``url_has_allowed_host_and_scheme``: no other host, no scheme but
    http(s), https only outside DEBUG, and none of the spellings browsers read as another host,
    such as ``/\\evil.example/`` or ``/<tab>/evil.example/``), otherwise the shows. The page
    goes only where this says (its script reads the form's ``data-next``, never the URL)."""
    target = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=not settings.DEBUG
    ):
        return target
    return DEFAULT_NEXT


@with_csp
@require_GET
def checkin(request: HttpRequest) -> HttpResponse:
    who = visitor(request)
    if who.user is None:
        return (
            _page(request, "refresh.html", {}) if who.needs_refresh else _signin_redirect(request)
        )
    if not who.is_admin:
        return _message(
            request, "Staff only", "The check-in page is for the cinema's staff.", status=403
        )
    return _page(request, "checkin.html", {})


@require_GET
def checkin_count(request: HttpRequest, showtime_id: int) -> HttpResponse:
    """How many tickets of a show have been admitted, of how many sold (staff)."""
    if not visitor(request).is_admin:
        return JsonResponse({"error": "staff only"}, status=403)
    sold = Ticket.objects.filter(
        booking_seat__booking__showtime_id=showtime_id,
        booking_seat__booking__status=BookingStatus.CONFIRMED,
    )
    return JsonResponse(
        {
            "showtime": showtime_id,
            "admitted": sold.filter(checked_in_at__isnull=False).count(),
            "sold": sold.count(),
        }
    )

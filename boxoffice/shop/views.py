"""The shop's pages. Each renders a server-side page (what a reader needs at once: shows,
prices, times in the theatre's own zone) and leaves the actions to small ES modules that call
the public API with the visitor's cookies, as any other client would."""

from __future__ import annotations

from collections import OrderedDict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from boxoffice.accounts.models import User
from boxoffice.booking import pricing
from boxoffice.booking import rules as booking_rules
from boxoffice.booking import selectors as booking_selectors
from boxoffice.booking import services as booking_services
from boxoffice.booking.api.bookings import BookingSerializer
from boxoffice.booking.models import Booking
from boxoffice.booking.states import effective_status
from boxoffice.core.money import format_money
from boxoffice.schedule import selectors as schedule_selectors
from boxoffice.schedule.models import Showtime, ShowtimeStatus
from boxoffice.waitlist import selectors as waitlist_selectors
from boxoffice.waitlist.api import WaitlistEntrySerializer

from .csp import is_stripe_emulator, stripe_js_url, with_csp
from .session import Visitor, visitor

DAYS_AHEAD = 7


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
    return format_money(amount, currency)


# A booking's state as the page names it (docs/api.md's statuses; an unknown one as it is).
STATUS_LABELS = {
    "pending": pgettext_lazy("booking status", "pending"),
    "confirmed": pgettext_lazy("booking status", "confirmed"),
    "cancelled": pgettext_lazy("booking status", "cancelled"),
    "expired": pgettext_lazy("booking status", "expired"),
    "exchanged": pgettext_lazy("booking status", "exchanged"),
}


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
        from_price = pricing.from_price(policy=policy, showtime=show)
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
            # Choosing a show to exchange a booking into: the links carry it to the picker.
            "exchange": request.GET.get("exchange", "")
            if request.GET.get("exchange", "").isdigit()
            else "",
        },
    )


@with_csp
@require_GET
def show(request: HttpRequest, showtime_id: int) -> HttpResponse:
    showtime = (
        Showtime.objects.select_related("movie", "screen__theater").filter(pk=showtime_id).first()
    )
    if showtime is None:
        return _message(request, _("Show not found"), _("There is no such show."), 404)
    theater = showtime.screen.theater
    policy = pricing.current_policy()
    time_factor = pricing.time_factor(
        policy=policy, starts_at=showtime.starts_at, timezone_name=theater.timezone
    )
    on_sale = showtime.status == ShowtimeStatus.SCHEDULED and showtime.starts_at > timezone.now()
    exchange, exchange_refused = _exchange_from(request, showtime)
    config = {
        "showtime": showtime.pk,
        "maxSeats": settings.BOOKING_MAX_SEATS,
        "signedIn": visitor(request).user is not None,
        "basePrice": str(showtime.base_price),
        "timeFactor": str(time_factor),
        "tierFactors": {t: str(f) for t, f in pricing.tier_factors(policy).items()},
        "onSale": on_sale,
        "exchange": exchange,
    }
    return _page(
        request,
        "show.html",
        {
            "exchange": exchange,
            "exchange_refused": exchange_refused,
            "showtime": showtime,
            "movie": showtime.movie,
            "theater": theater,
            "local": _local(showtime.starts_at, theater.timezone),
            "morning": time_factor != 1,
            "time_factor": time_factor,
            "on_sale": on_sale,
            "config": config,
            "max_seats": settings.BOOKING_MAX_SEATS,
            "sold_out": on_sale
            and not booking_services.seats_together_available(showtime=showtime, quantity=1),
            "offer_minutes": settings.WAITLIST_OFFER_MINUTES,
        },
    )


def _exchange_from(request: HttpRequest, showtime: Showtime) -> tuple[dict | None, str]:
    """``?exchange=<booking id>`` on a show's page: the visitor's booking to exchange into
    this show, with its worth (the credit the API will give), when booking's rules allow it;
    else None and why not (the rules' own words)."""
    raw = request.GET.get("exchange", "")
    who = visitor(request).user
    if not raw.isdigit() or len(raw) > 18 or who is None:
        return None, ""
    booking = _own_booking(request, int(raw))
    if booking is None:
        return None, ""
    refusal = booking_selectors.exchange_refusal(
        booking, by=who, now=timezone.now(), currency=showtime.currency
    )
    if refusal is not None:
        return None, str(refusal)
    kept = [row.seat.label for row in booking.seats.all() if row.is_live]
    return {
        "booking": booking.pk,
        "credit": str(booking_rules.live_total(booking)),
        "credit_text": _money(booking_rules.live_total(booking), booking.currency),
        "currency": booking.currency,
        "seats": kept,
    }, ""


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
        return _message(
            request, _("Booking not found"), _("There is no such booking of yours."), 404
        )
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
            "offered": booking.waitlist_entry is not None,
        },
    )


@with_csp
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    who = visitor(request)
    if who.user is None:
        return (
            _page(request, "refresh.html", {}) if who.needs_refresh else _signin_redirect(request)
        )
    now = timezone.now()
    items = []
    for booking in booking_selectors.booking_list().filter(user=who.user)[:100]:
        showtime = booking.showtime
        theater = showtime.screen.theater
        status = effective_status(booking, now)
        used = {
            seat.ticket.code: seat.ticket.checked_in_at is not None
            for seat in booking.seats.all()
            if hasattr(seat, "ticket")
        }
        # The API's own tickets (each with its QR image's address); none unless confirmed.
        seat_tickets = [
            {**entry, "used": used[entry["code"]]}
            for entry in BookingSerializer(booking).data["tickets"]
        ]
        closes = booking_selectors.cancellation_closes_at(booking)
        # The seats the API would let this customer cancel alone, each with its refund (the
        # booking rules' own figures); offered only when the booking keeps another seat.
        alone = booking_selectors.cancellable_seats(booking, by=who.user, now=now)
        kept = [row for row in booking.seats.all() if row.cancelled_at is None]
        some_seats = [
            {
                "id": row.seat_id,
                "label": row.seat.label,
                "refund": str(booking_rules.cancel_refund(booking, [row])),
                "refund_text": _money(
                    booking_rules.cancel_refund(booking, [row]), booking.currency
                ),
            }
            for row in alone
        ]
        items.append(
            {
                "booking": booking,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "movie": showtime.movie,
                "theater": theater,
                "screen": showtime.screen,
                "local": _local(showtime.starts_at, theater.timezone),
                "seats": [s.seat.label for s in kept],
                "cancelled_seats": [
                    s.seat.label for s in booking.seats.all() if s.cancelled_at is not None
                ],
                "some_seats": some_seats if len(kept) > 1 else [],
                "refund_zero": _money(Decimal("0.00"), booking.currency),
                "tickets": seat_tickets,
                "total": _money(booking.total, booking.currency),
                "refund": _money(booking_rules.cancel_refund(booking), booking.currency),
                "refunded": _money(booking.refunded_amount, booking.currency)
                if booking.refunded_amount
                else "",
                "can_pay": booking_selectors.can_pay(booking, now=now),
                "can_cancel": booking_selectors.booking_cancellable(booking, by=who.user, now=now),
                "can_exchange": booking_selectors.exchange_refusal(booking, by=who.user, now=now)
                is None,
                "cancel_closed": now >= closes,
                "closes_local": _local(closes, theater.timezone),
                "past": showtime.starts_at <= now,
                "cutoff_minutes": settings.BOOKING_CANCEL_CUTOFF_MINUTES,
            }
        )
    waitlist = []
    for entry in waitlist_selectors.entries_of(who.user)[:100]:
        theater = entry.showtime.screen.theater
        answer = WaitlistEntrySerializer(entry).data  # status and position as the API says
        waitlist.append(
            {
                "entry": entry,
                "status": answer["status"],
                "position": answer["position"],
                "movie": entry.showtime.movie,
                "theater": theater,
                "local": _local(entry.showtime.starts_at, theater.timezone),
                "active": answer["status"] in ("waiting", "offered"),
            }
        )
    focus = request.GET.get("booking", "")
    return _page(request, "bookings.html", {"items": items, "focus": focus, "waitlist": waitlist})


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
            request, _("Staff only"), _("The check-in page is for the cinema's staff."), status=403
        )
    return _page(request, "checkin.html", {})


class CheckinCountView(APIView):
    """``GET /staff/checkin/count/<show>/``: how many tickets of a show have been admitted, of
    how many sold (staff; anyone else 403, in the API's error shape)."""

    schema = None  # a page's helper, not part of the public API's schema

    def get(self, request: Request, showtime_id: int) -> Response:
        user = request.user
        if not (isinstance(user, User) and user.is_admin):
            raise PermissionDenied("The check-in count is for the cinema's staff.")
        admitted, sold = booking_selectors.admissions(showtime_id)
        return Response({"showtime": showtime_id, "admitted": admitted, "sold": sold})

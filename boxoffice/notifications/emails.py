"""Composing the customer's emails (HTML and plain text), in the customer's language
(``User.language``: the worker has no request to take one from), with a ``Content-Language``
header that says which."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from boxoffice.accounts.models import User
from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.booking.tickets import qr_png
from boxoffice.core.i18n import supported
from boxoffice.core.money import format_money

from .models import EmailNotification


def _context(booking: Booking) -> dict:
    showtime = booking.showtime
    theater = showtime.screen.theater
    seats = list(
        BookingSeat.objects.filter(booking=booking, cancelled_at__isnull=True)
        .select_related("seat", "ticket")
        .order_by("seat__row_index", "seat__number")
    )
    return {
        "booking": booking,
        "user": booking.user,
        "movie": showtime.movie,
        "theater": theater,
        "screen": showtime.screen,
        # The theatre's wall clock, naive on purpose: the ``date`` filter converts an aware
        # datetime to the current time zone (UTC in the worker), which would print a 21:00
        # Los Angeles show as 05:00 the next day.
        "local_start": timezone.localtime(showtime.starts_at, theater.tzinfo).replace(tzinfo=None),
        "timezone": theater.timezone,
        "seats": [
            {
                "label": s.seat.label,
                "tier": s.get_tier_display(),
                "price": s.price,
                "code": getattr(getattr(s, "ticket", None), "code", ""),
            }
            for s in seats
        ],
        "currency": booking.currency.upper(),
        "paid": format_money(booking.paid_amount or Decimal(0), booking.currency),
        "why": _why(booking),
        "expires_local": timezone.localtime(booking.expires_at, theater.tzinfo).replace(
            tzinfo=None
        ),
    }


def _why(booking: Booking) -> str:
    """Why the booking was cancelled, in the customer's words ("" for their own cancel)."""
    showtime = booking.showtime
    reasons = {
        "show_cancelled": lambda: (
            _("The cinema has cancelled this show: %(reason)s. We are sorry.")
            % {"reason": showtime.cancel_reason}
        ),
        "show_started": lambda: _("Your payment reached us after the show had started."),
        "seats_lost": lambda: _(
            "Your payment reached us after your hold had expired, and your seats had been "
            "taken by then."
        ),
        "admin": lambda: _("The box office cancelled it for you."),
    }
    reason = reasons.get(booking.cancel_reason)
    return reason() if reason else ""


def language_of(user: User) -> str:
    """The language of ``user``'s emails: theirs when we speak it, else the site's."""
    return supported(user.language) or settings.LANGUAGE_CODE


def in_language(message: EmailMultiAlternatives, language: str) -> EmailMultiAlternatives:
    message.extra_headers["Content-Language"] = language
    return message


def compose(note: EmailNotification) -> EmailMultiAlternatives:
    booking = Booking.objects.select_related(
        "user", "showtime__movie", "showtime__screen__theater"
    ).get(pk=note.booking_id)
    language = language_of(booking.user)
    with translation.override(language):
        return in_language(_compose(note, booking), language)


def _compose(note: EmailNotification, booking: Booking) -> EmailMultiAlternatives:
    context = _context(booking)
    context["link"] = note.link
    template = f"notifications/{note.kind}"
    title = context["movie"].title
    # Translators: a date format (Django's "date" filter): "07 Dec 19:30".
    when = date_format(context["local_start"], pgettext("date format", "d M H:i"))
    subject = {
        EmailNotification.Kind.RECEIPT: _("Your tickets for %(title)s") % {"title": title},
        EmailNotification.Kind.CANCELLATION: (
            _("Show cancelled: %(title)s, %(when)s") % {"title": title, "when": when}
            if booking.cancel_reason == "show_cancelled"
            else _("Booking #%(id)s cancelled") % {"id": booking.pk}
        ),
        EmailNotification.Kind.OFFER: _("Seats for you: %(title)s, %(when)s")
        % {"title": title, "when": when},
    }[EmailNotification.Kind(note.kind)]
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.user.email],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    if note.kind == EmailNotification.Kind.RECEIPT:
        for seat in context["seats"]:
            if seat["code"]:
                message.attach(f"ticket-{seat['label']}.png", qr_png(seat["code"]), "image/png")
    return message

"""Composing the customer's emails (HTML and plain text)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.booking.tickets import qr_png

from .models import EmailNotification


def _context(booking: Booking) -> dict:
    showtime = booking.showtime
    theater = showtime.screen.theater
    seats = list(
        BookingSeat.objects.filter(booking=booking)
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
        "why": _why(booking),
    }


def _why(booking: Booking) -> str:
    """Why the booking was cancelled, in the customer's words ("" for their own cancel)."""
    showtime = booking.showtime
    return {
        "show_cancelled": (
            f"The cinema has cancelled this show: {showtime.cancel_reason}. We are sorry."
        ),
        "show_started": "Your payment reached us after the show had started.",
        "seats_lost": (
            "Your payment reached us after your hold had expired, and your seats had been "
            "taken by then."
        ),
        "admin": "The box office cancelled it for you.",
    }.get(booking.cancel_reason, "")


def compose(note: EmailNotification) -> EmailMultiAlternatives:
    booking = Booking.objects.select_related(
        "user", "showtime__movie", "showtime__screen__theater"
    ).get(pk=note.booking_id)
    context = _context(booking)
    template = f"notifications/{note.kind}"
    subject = {
        EmailNotification.Kind.RECEIPT: f"Your tickets for {context['movie'].title}",
        EmailNotification.Kind.CANCELLATION: (
            f"Show cancelled: {context['movie'].title}, {context['local_start']:%d %b %H:%M}"
            if booking.cancel_reason == "show_cancelled"
            else f"Booking #{booking.pk} cancelled"
        ),
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

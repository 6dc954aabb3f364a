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
    }


def compose(note: EmailNotification) -> EmailMultiAlternatives:
    booking = Booking.objects.select_related(
        "user", "showtime__movie", "showtime__screen__theater"
    ).get(pk=note.booking_id)
    context = _context(booking)
    template = f"notifications/{note.kind}"
    subject = {
        EmailNotification.Kind.RECEIPT: f"Your tickets for {context['movie'].title}",
        EmailNotification.Kind.CANCELLATION: f"Booking #{booking.pk} cancelled",
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

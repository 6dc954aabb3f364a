"""Occupancy and revenue, aggregated in SQL (one query per report page, no Python loops over
bookings)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from boxoffice.booking.models import Booking, BookingSeat, BookingStatus, live_seat_q
from boxoffice.catalog.selectors import seat_count
from boxoffice.schedule.models import Showtime

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))


def showtime_report(*, start: datetime, end: datetime) -> QuerySet[Showtime]:
    """A row per show starting in [start, end): capacity (the seats for sale, as the showtime
    list counts them), seats sold, seats held now, revenue."""
    now = timezone.now()
    sold = Count(
        "booking_seats",
        filter=Q(
            booking_seats__is_live=True, booking_seats__booking__status=BookingStatus.CONFIRMED
        ),
    )
    # A held seat: live, not paid (a running hold); live_seat_q is the one home of the rule.
    held = Count(
        "booking_seats",
        filter=live_seat_q(now, prefix="booking_seats__")
        & Q(booking_seats__hold_expires_at__isnull=False),
    )
    revenue = Subquery(
        Booking.objects.filter(showtime_id=OuterRef("pk"), status=BookingStatus.CONFIRMED)
        .order_by()
        .values("showtime_id")
        .annotate(total=Sum(F("paid_amount") + F("credit") - F("refunded_amount")))
        .values("total"),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    return (
        Showtime.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .select_related("movie", "screen__theater")
        .annotate(
            capacity=seat_count(for_sale=True),  # seats for sale: blocked seats are not
            sold=sold,
            held=held,
            revenue=Coalesce(revenue, ZERO),
        )
        .order_by("starts_at", "id")
    )


GROUPS = {
    "day": ("day", "day"),
    "movie": ("showtime__movie_id", "showtime__movie__title"),
    "theater": ("showtime__screen__theater_id", "showtime__screen__theater__name"),
}


def revenue_report(*, start: datetime, end: datetime, group_by: str) -> QuerySet:
    """A row per group (and currency) of confirmed bookings of shows in [start, end).

    ``revenue`` is what was paid and not refunded. Cancelled (refunded) bookings do not count.
    Days are UTC calendar days of the show's start.
    """
    key, label = GROUPS[group_by]
    tickets = Subquery(
        BookingSeat.objects.filter(booking_id=OuterRef("pk"), cancelled_at__isnull=True)
        .order_by()
        .values("booking_id")
        .annotate(n=Count("id"))
        .values("n"),
        output_field=IntegerField(),
    )
    rows = Booking.objects.filter(
        status=BookingStatus.CONFIRMED, showtime__starts_at__gte=start, showtime__starts_at__lt=end
    ).annotate(day=TruncDate("showtime__starts_at"), n_tickets=tickets)
    return (
        rows.values(key, label, "currency")
        .annotate(
            bookings=Count("id"),
            tickets=Coalesce(Sum("n_tickets"), 0),
            revenue=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("paid_amount") + F("credit") - F("refunded_amount"),
                        output_field=DecimalField(max_digits=12, decimal_places=2),
                    )
                ),
                ZERO,
            ),
        )
        .order_by(key, "currency")
    )

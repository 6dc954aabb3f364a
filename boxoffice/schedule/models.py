from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from boxoffice.catalog.models import Movie, Screen

# Name of the PostgreSQL exclusion constraint that keeps shows on one screen apart (see
# migrations/0002_no_overlap_postgres.py). The service recognises it in IntegrityErrors.
NO_OVERLAP_CONSTRAINT = "schedule_showtime_no_overlap"


class ShowtimeStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"


def _default_currency() -> str:
    return settings.DEFAULT_CURRENCY


class Showtime(models.Model):
    """One screening of a movie on a screen.

    ``blocked_until`` is the end of the show plus the screen's cleaning gap, frozen when the show
    is scheduled: the span [starts_at, blocked_until) is what may not overlap another scheduled
    show on the same screen.
    """

    movie = models.ForeignKey(Movie, on_delete=models.CASCADE, related_name="showtimes")
    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="showtimes")
    starts_at = models.DateTimeField(db_index=True)
    ends_at = models.DateTimeField()
    blocked_until = models.DateTimeField()
    base_price = models.DecimalField(
        max_digits=8, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    currency = models.CharField(
        max_length=3,
        default=_default_currency,
        validators=[RegexValidator(r"^[a-z]{3}$", "A lower-case ISO 4217 code, like usd.")],
    )
    status = models.CharField(
        max_length=16, choices=ShowtimeStatus.choices, default=ShowtimeStatus.SCHEDULED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(
        max_length=200, blank=True, default="", help_text="Told to every customer of the show."
    )

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["screen", "starts_at"], name="schedule_screen_start_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="schedule_showtime_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_until__gte=models.F("ends_at")),
                name="schedule_showtime_blocked_after_end",
            ),
            models.CheckConstraint(
                condition=models.Q(base_price__gte=0), name="schedule_showtime_price_nonnegative"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ShowtimeStatus.values),
                name="schedule_showtime_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.movie} @ {self.screen} {self.starts_at:%Y-%m-%d %H:%M}"

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from boxoffice.core.money import validate_currency

from .images import validate_poster


class Tier(models.TextChoices):
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"
    VIP = "vip", "VIP"


@cache
def _timezone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate_timezone(value: str) -> None:
    if value not in _timezone_names():
        raise ValidationError(
            f"{value!r} is not an IANA time zone name (for example Europe/Berlin).",
            code="invalid_timezone",
        )


def validate_currency_code(value: str) -> None:
    """A lower-case ISO 4217 code that we can charge (``core.money``'s table, Stripe's list)."""
    if not isinstance(value, str) or not re.fullmatch(r"[a-z]{3}", value):
        raise ValidationError(
            f"{value!r} is not a lower-case ISO 4217 currency code (for example eur).",
            code="invalid_currency",
        )
    try:
        validate_currency(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="unsupported_currency") from exc


def _default_currency() -> str:
    return settings.DEFAULT_CURRENCY


class Genre(models.Model):
    name = models.CharField(max_length=64, unique=True)
    slug = models.SlugField(max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Movie(models.Model):
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=5000)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    genres = models.ManyToManyField(Genre, related_name="movies", blank=True)
    poster = models.ImageField(
        upload_to="posters/", blank=True, validators=[validate_poster], max_length=255
    )
    age_rating = models.CharField(max_length=16, blank=True)
    release_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=1, duration_minutes__lte=600),
                name="catalog_movie_duration_range",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Theater(models.Model):
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=500, blank=True)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    currency = models.CharField(
        max_length=3,
        default=_default_currency,
        validators=[validate_currency_code],
        help_text="Lower-case ISO 4217 code (eur); the currency of new shows in this theater.",
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


def _default_cleaning_minutes() -> int:
    return settings.DEFAULT_CLEANING_MINUTES


class SeatKind(models.TextChoices):
    STANDARD = "standard", "Standard"
    WHEELCHAIR = "wheelchair", "Wheelchair space"
    COMPANION = "companion", "Companion seat"


class Screen(models.Model):
    theater = models.ForeignKey(Theater, on_delete=models.CASCADE, related_name="screens")
    name = models.CharField(max_length=100)
    cleaning_minutes = models.PositiveSmallIntegerField(
        default=_default_cleaning_minutes, validators=[MaxValueValidator(240)]
    )
    # Seat rules (boxoffice.booking.seatrules). Screens that existed before the rule got False.
    single_seat_rule = models.BooleanField(
        default=True,
        help_text="Refuse holds that would leave one empty seat alone in a row (409 "
        "single_seat_gap), unless the selection could not avoid it.",
    )
    sweet_spot_column_percent = models.PositiveSmallIntegerField(
        default=50,
        validators=[MaxValueValidator(100)],
        help_text="Best available aims here across the room: 0 = leftmost column, 100 = "
        "rightmost (default 50, the centre).",
    )
    sweet_spot_row_percent = models.PositiveSmallIntegerField(
        default=67,
        validators=[MaxValueValidator(100)],
        help_text="Best available aims here from front to back: 0 = the front row (nearest the "
        "screen), 100 = the back row (default 67, about two thirds back).",
    )

    class Meta:
        ordering = ["theater_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["theater", "name"], name="catalog_screen_unique_name"),
            models.CheckConstraint(
                condition=models.Q(cleaning_minutes__lte=240), name="catalog_screen_cleaning_range"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    sweet_spot_column_percent__lte=100, sweet_spot_row_percent__lte=100
                ),
                name="catalog_screen_sweet_spot_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.theater.name} / {self.name}"


class Seat(models.Model):
    """One seat of a screen's grid. ``row_index`` orders rows naturally (Z before AA).

    ``x``/``y`` place it in the drawing of the room (aisles included: seats side by side have
    consecutive ``x``; a larger step is an aisle). A ``companion`` seat belongs to the
    wheelchair space beside it (``companion_of``). A ``blocked`` seat is not for sale."""

    screen = models.ForeignKey(Screen, on_delete=models.CASCADE, related_name="seats")
    row = models.CharField(max_length=3)
    row_index = models.PositiveSmallIntegerField()
    number = models.PositiveSmallIntegerField()
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.STANDARD)
    kind = models.CharField(max_length=16, choices=SeatKind.choices, default=SeatKind.STANDARD)
    companion_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="companions",
        help_text="For a companion seat: the wheelchair space it belongs to.",
    )
    blocked = models.BooleanField(default=False, help_text="Not for sale.")
    x = models.PositiveSmallIntegerField(default=0, help_text="Drawing column, aisles included.")
    y = models.PositiveSmallIntegerField(default=0, help_text="Drawing row (0: the front).")

    class Meta:
        ordering = ["screen_id", "row_index", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["screen", "row", "number"], name="catalog_seat_unique_position"
            ),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="catalog_seat_number_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(tier__in=Tier.values), name="catalog_seat_tier_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=SeatKind.values), name="catalog_seat_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.row}{self.number}"

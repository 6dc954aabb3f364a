from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpRequest

from boxoffice.accounts.models import User
from boxoffice.schedule.models import Showtime

from . import services
from .models import Booking, BookingSeat, PricePolicy


class BookingSeatInline(admin.TabularInline):
    model = BookingSeat
    extra = 0
    can_delete = False
    fields = [
        "seat",
        "tier",
        "base_price",
        "tier_factor",
        "time_factor",
        "price",
        "is_live",
        "hold_expires_at",
    ]
    # The stubs type `fields` as (possibly nested) field groups and `readonly_fields` as flat
    # names; this list is flat.
    readonly_fields = fields  # type: ignore[assignment]

    def has_add_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False


class ShowtimeFilter(admin.SimpleListFilter):
    """Bookings of one show (``?showtime=<id>``, the link on a show's page). Offers the shows
    with the most recent bookings; any show id is accepted from the URL."""

    title = "show"
    parameter_name = "showtime"
    offered = 30

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        recent = (
            Showtime.objects.filter(bookings__isnull=False)
            .distinct()
            .select_related("movie", "screen__theater")
            .order_by("-starts_at")[: self.offered]
        )
        shows = list(recent)
        chosen = self._chosen()
        if chosen is not None and chosen not in {show.pk for show in shows}:
            shows += list(
                Showtime.objects.filter(pk=chosen).select_related("movie", "screen__theater")
            )
        return [(str(show.pk), _show_label(show)) for show in shows]

    def _chosen(self) -> int | None:
        value = self.value()
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()) or int(value) >= 2**63:
            raise IncorrectLookupParameters(f"{value!r} is not a show id.")
        return int(value)

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        chosen = self._chosen()
        return queryset if chosen is None else queryset.filter(showtime_id=chosen)


def _show_label(show: Showtime) -> str:
    local = show.starts_at.astimezone(show.screen.theater.tzinfo)
    return f"{show.pk}: {show.movie.title}, {show.screen.theater.name}, {local:%Y-%m-%d %H:%M}"


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: status changes go through the API's state machine, never a form. The pages
    are view-only (no Save buttons); a show's page links here, filtered by that show."""

    list_display = [
        "id",
        "user",
        "showtime",
        "status",
        "total",
        "currency",
        "paid_amount",
        "refunded_amount",
        "created_at",
        "expires_at",
    ]
    list_filter = ["status", ShowtimeFilter, "currency", "showtime__screen__theater"]
    search_fields = [
        "id",
        "user__username",
        "user__email",
        "showtime__movie__title",
        "payment_intent_id",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["user", "showtime__movie", "showtime__screen__theater"]
    inlines = [BookingSeatInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Booking | None = None) -> list[str]:
        return [f.name for f in Booking._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Booking | None = None) -> bool:
        return False


@admin.register(PricePolicy)
class PricePolicyAdmin(admin.ModelAdmin):
    """Saving a policy always adds a new version, so frozen booking prices never move."""

    list_display = ["id", *PricePolicy.VERSION_FIELDS, "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]

    def save_model(self, request: HttpRequest, obj: PricePolicy, form: Any, change: bool) -> None:
        new = services.new_price_policy(
            # The admin site lets only signed-in staff this far: never an AnonymousUser.
            by=cast(User, request.user),
            **{f: form.cleaned_data[f] for f in PricePolicy.VERSION_FIELDS},
        )
        obj.pk = new.pk

    def has_delete_permission(self, request: HttpRequest, obj: PricePolicy | None = None) -> bool:
        return False

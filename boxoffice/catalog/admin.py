"""The catalog in the admin site. Writes with consequences go through the services: a movie's
duration or a screen's cleaning gap re-spans their shows (``save_timing_change``), seat grids are
built by the grid builder (seats are read-only here), and bookings protect what they refer to."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse

from boxoffice.core.errors import Conflict

from . import services
from .models import Genre, Movie, Screen, Seat, Theater


class ProtectedByBookingsMixin:
    """Delete pages that say why a booked object cannot go.

    Bookings hold PROTECT references to shows (and so to their movies and screens) and seats.
    Django's page would list every protected row, and when some related model may not be
    deleted by hand (bookings) it says "your account doesn't have permission", even to a
    superuser. Here the page says what stops the delete and what to do instead."""

    protected_message = (
        "Bookings refer to this {name}, which protects it: it cannot be deleted. "
        "Cancel its shows instead (Schedule, Showtimes: “Cancel show”), which refunds everyone."
    )
    delete_confirmation_max_display: ClassVar[int | None] = 20

    # Mixed in before admin.ModelAdmin: mypy sees a plain class, so the ModelAdmin methods used
    # below are ignored ([misc]: not in a superclass, [attr-defined]: not on the mixin).
    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(  # type: ignore[misc]
            objs, request
        )
        if protected:
            # The bookings' protection is what stops this delete, whatever the permissions.
            perms_needed = set()
        return deleted, counts, perms_needed, protected

    def protected_text(self, request: HttpRequest, obj: Any) -> str:
        return self.protected_message.format(name=self.opts.verbose_name)  # type: ignore[attr-defined]

    def render_delete_form(self, request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
        if context.get("protected"):
            self.message_user(  # type: ignore[attr-defined]
                request, self.protected_text(request, context.get("object")), messages.ERROR
            )
        return super().render_delete_form(request, context)  # type: ignore[misc]


def _message(exc: Exception) -> str:
    detail = getattr(exc, "detail", None)
    if isinstance(detail, list | tuple):
        return " ".join(str(item) for item in detail)
    return str(detail if detail is not None else exc)


class TimingForm(forms.ModelForm):
    """A movie's duration or a screen's cleaning gap spans their future shows: such a change is
    saved through ``services.save_timing_change``, which re-spans the shows and refuses (409) a
    change that would make two overlap; the refusal is shown on the field."""

    timing_field = ""
    saved_by_service = False

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # a private ModelForm hook, not in the stubs
        if self.errors or self.instance.pk is None or self.timing_field not in self.changed_data:
            return
        try:
            services.save_timing_change(lambda: _saved(self.instance))
        except Conflict as exc:
            self.add_error(self.timing_field, _message(exc))
        except ValueError as exc:
            field = getattr(exc, "field", None)
            self.add_error(field if field in self.fields else None, _message(exc))
        else:
            self.saved_by_service = True


def _saved(obj: Any) -> Any:
    obj.save()
    return obj


# No Meta: the admin builds the form from every model field, as for any ModelAdmin.
class MovieForm(TimingForm):
    timing_field = "duration_minutes"


class ScreenForm(TimingForm):
    timing_field = "cleaning_minutes"


class TimingAdminMixin:
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not getattr(form, "saved_by_service", False):
            # Mixed in before admin.ModelAdmin, whose save_model mypy cannot see from here.
            super().save_model(request, obj, form, change)  # type: ignore[misc]


@admin.register(Genre)
class GenreAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Movie)
class MovieAdmin(ProtectedByBookingsMixin, TimingAdminMixin, admin.ModelAdmin):
    form = MovieForm
    list_display = ["title", "duration_minutes", "age_rating", "release_date"]
    list_filter = ["genres", "age_rating"]
    search_fields = ["title", "description"]
    filter_horizontal = ["genres"]
    protected_message = (
        "Bookings of this movie's shows protect it: it cannot be deleted. Cancel those shows "
        "instead (Schedule, Showtimes: “Cancel show”), which refunds everyone."
    )


class ScreenInline(admin.TabularInline):
    model = Screen
    form = ScreenForm
    extra = 0


@admin.register(Theater)
class TheaterAdmin(admin.ModelAdmin):
    list_display = ["name", "address", "timezone", "currency"]
    search_fields = ["name", "address"]
    list_filter = ["timezone", "currency"]
    inlines = [ScreenInline]

    def save_model(self, request: HttpRequest, obj: Theater, form: Any, change: bool) -> None:
        # As the API does: a new time zone moves its shows' local times (and morning prices).
        def save() -> Theater:
            super(TheaterAdmin, self).save_model(request, obj, form, change)
            return obj

        services.save_theater(save, theater_id=obj.pk if change else None)


@admin.register(Screen)
class ScreenAdmin(ProtectedByBookingsMixin, TimingAdminMixin, admin.ModelAdmin):
    form = ScreenForm
    list_display = ["name", "theater", "cleaning_minutes"]
    list_filter = ["theater"]
    search_fields = ["name", "theater__name"]
    list_select_related = ["theater"]
    protected_message = (
        "Bookings of this screen's shows and seats protect it: it cannot be deleted. Cancel "
        "those shows instead (Schedule, Showtimes: “Cancel show”), which refunds everyone."
    )


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    """Read-only: a seat's tier prices it and its id is on sold tickets, so grids are built by
    the grid builder (``generate_seats`` or ``POST /api/v1/screens/{id}/seats/generate/``),
    which also refreshes the seat maps. Seats are blocked and unblocked with the list's
    actions (``services.update_seats``, which redraws the seat maps too)."""

    list_display = ["label", "screen", "row", "number", "tier", "kind", "blocked"]
    list_filter = ["tier", "kind", "blocked", "screen__theater", "screen"]
    search_fields = ["screen__name", "row"]
    list_select_related = ["screen__theater"]
    actions = ["block_seats", "unblock_seats"]

    def _set_blocked(self, request: HttpRequest, queryset: Any, blocked: bool) -> None:
        by_screen: dict[int, list[int]] = {}
        for seat_id, screen_id in queryset.values_list("pk", "screen_id"):
            by_screen.setdefault(screen_id, []).append(seat_id)
        for screen_id, seat_ids in by_screen.items():
            services.update_seats(
                screen=Screen.objects.get(pk=screen_id), seat_ids=seat_ids, blocked=blocked
            )
        count = sum(len(ids) for ids in by_screen.values())
        self.message_user(request, f"{count} seat(s) {'blocked' if blocked else 'unblocked'}.")

    @admin.action(description="Block the selected seats (not for sale)")
    def block_seats(self, request: HttpRequest, queryset: Any) -> None:
        self._set_blocked(request, queryset, True)

    @admin.action(description="Unblock the selected seats (for sale again)")
    def unblock_seats(self, request: HttpRequest, queryset: Any) -> None:
        self._set_blocked(request, queryset, False)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

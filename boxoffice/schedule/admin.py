"""The schedule in the admin site: a second door to the same rules as the API.

Every write goes through :mod:`boxoffice.schedule.services`, so a show added or edited here
computes the same ``ends_at``, passes the same overlap check (and the database's), keeps a
booked show's sold terms, and cancelling refunds everyone, exactly as through the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from boxoffice.accounts.models import User
from boxoffice.catalog.admin import ProtectedByBookingsMixin
from boxoffice.catalog.models import validate_currency_code
from boxoffice.core import money
from boxoffice.core.errors import Conflict

from . import services
from .models import Showtime, ShowtimeStatus

CANCEL_LABEL = "Cancel show (refund everyone)"


def local_time(moment: datetime | None, zone_name: str) -> str:
    """``2026-12-01 19:00 CET (Europe/Berlin)``: a moment on the theater's own clock."""
    if moment is None:
        return "-"
    local = moment.astimezone(ZoneInfo(zone_name))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({zone_name})"


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


class WallClockField(forms.SplitDateTimeField):
    """A date and a time as typed, *without* a time zone: the form gives it the theater's zone
    once it knows which screen (so which theater) the show is on. Django's own field would
    read it in the server's zone (UTC) instead."""

    widget = widgets.AdminSplitDateTime

    def compress(self, data_list: Sequence[Any] | None) -> datetime | None:
        if not data_list:
            return None
        if data_list[0] in self.empty_values:
            raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
        if data_list[1] in self.empty_values:
            raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
        return datetime.combine(*data_list)


class ShowtimeForm(forms.ModelForm):
    """Validates the input, then hands it to the scheduling service, whose refusals become
    errors on the field at fault (or on the form). Model validation is skipped: the service
    and the database hold the rules, and the service saves the show itself."""

    starts_at = WallClockField(
        label="Starts at",
        help_text="The theater's local time (the selected screen's theater), not UTC.",
    )
    currency = forms.CharField(
        required=False,
        max_length=3,
        help_text="ISO 4217 code, like eur. Left blank: the theater's currency.",
    )

    class Meta:
        model = Showtime
        fields = ["movie", "screen", "starts_at", "base_price", "currency"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show = self.instance
        if show.pk is not None:
            zone = show.screen.theater.timezone
            self.initial["starts_at"] = _wall_clock(show.starts_at, ZoneInfo(zone))
            self.fields[
                "starts_at"
            ].help_text = f"Local time in {zone}, the theater's time zone (not UTC)."
        else:
            self.initial.pop("currency", None)  # blank means "the theater's", not usd

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().lower()
        if code:
            validate_currency_code(code)
        return code

    def _aware_start(self, wall_clock: datetime, zone_name: str) -> datetime | None:
        zone = ZoneInfo(zone_name)
        aware = wall_clock.replace(tzinfo=zone)
        if _wall_clock(aware.astimezone(UTC), zone) != wall_clock:
            self.add_error(
                "starts_at",
                f"{wall_clock:%Y-%m-%d %H:%M} does not exist in {zone_name}: the clocks "
                "jump forward that night. Pick another time.",
            )
            return None
        return aware

    def _post_clean(self) -> None:
        if self.errors:
            return
        data = self.cleaned_data
        screen = data["screen"]
        starts_at = self._aware_start(data["starts_at"], screen.theater.timezone)
        if starts_at is None:
            return
        # Blank: a new show takes the theater's currency, an existing one keeps its own.
        kept = self.instance.currency if self.instance.pk else screen.theater.currency
        currency = data["currency"] or kept
        try:
            money.require_whole_quantum(data["base_price"], currency)
        except money.ExcessPrecision as exc:
            self.add_error("base_price", str(exc))
            return
        except money.UnsupportedCurrency as exc:  # a show stored before currencies were checked
            self.add_error("currency", str(exc))
            return
        try:
            if self.instance.pk is None:
                self.instance = services.create_showtime(
                    movie=data["movie"],
                    screen=screen,
                    starts_at=starts_at,
                    base_price=data["base_price"],
                    currency=data["currency"] or None,
                )
            else:
                wanted = {
                    "movie": data["movie"],
                    "screen": screen,
                    "starts_at": starts_at,
                    "base_price": data["base_price"],
                }
                if data["currency"]:
                    wanted["currency"] = data["currency"]
                changes = {k: v for k, v in wanted.items() if getattr(self.instance, k) != v}
                if changes:
                    self.instance = services.update_showtime(showtime=self.instance, **changes)
        except Conflict as exc:
            self.add_error(None, str(exc))
        except ValueError as exc:  # Invalid (ScheduleError, InputError): the field at fault
            attr = getattr(exc, "attr", None)
            self.add_error(attr if attr in self.fields else None, str(exc))


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Sent to every customer with their refund.",
    )


@admin.register(Showtime)
class ShowtimeAdmin(ProtectedByBookingsMixin, admin.ModelAdmin):
    """Shows, written only through the scheduling service.

    Times: a show's start is typed and shown as wall-clock time in its theater's zone. The
    form reads the date and time without a zone (:class:`WallClockField`), and once the screen
    is known gives it the zone of the screen's theater and passes that aware moment (stored in
    UTC) to the service; a time that does not exist there (skipped by a DST change) is refused,
    and one that happens twice (the hour repeated in autumn) is taken at its first occurrence.
    Lists and read-only fields show the local time with the zone's name.

    Status is not a form field: cancelling is the "Cancel show (refund everyone)" action (and
    the button on a show's page), which asks for a reason and calls ``cancel_showtime``.
    """

    form = ShowtimeForm
    list_display = [
        "id",
        "movie",
        "screen",
        "local_start",
        "base_price",
        "currency",
        "status",
    ]
    list_filter = ["status", "screen__theater", "screen", "movie"]
    search_fields = ["movie__title", "screen__name", "screen__theater__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["movie", "screen__theater"]
    autocomplete_fields = ["movie", "screen"]
    actions = ["cancel_shows"]
    protected_message = (
        "This show has bookings, which protect it: it cannot be deleted. "
        "Cancel it instead: “{label}” ends every hold and refunds every paid booking."
    )

    # Pages -------------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Showtime | None = None) -> Any:
        entry = ["movie", "screen", "starts_at", "base_price", "currency"]
        if obj is None:
            return [(None, {"fields": entry})]
        if not self.has_change_permission(request, obj):
            entry = ["movie", "screen", "local_start", "base_price", "currency"]
        state = ["status", "bookings_link"]
        state += [f for f in ("cancelled_at", "cancel_reason") if _has_field(f)]
        return [
            (None, {"fields": entry}),
            ("Schedule", {"fields": ["local_start", "local_end", "local_blocked_until"]}),
            ("State", {"fields": state}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Showtime | None = None) -> Any:
        if obj is None:
            return []
        shown = ["local_start", "local_end", "local_blocked_until", "status", "bookings_link"]
        shown += [f for f in ("cancelled_at", "cancel_reason") if _has_field(f)]
        if not self.has_change_permission(request, obj):
            shown += ["movie", "screen", "base_price", "currency"]
        return shown

    def has_change_permission(self, request: HttpRequest, obj: Showtime | None = None) -> bool:
        """A cancelled show is history: viewable, not editable."""
        if obj is not None and obj.status != ShowtimeStatus.SCHEDULED:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Showtime, form: Any, change: bool) -> None:
        """Nothing left to do: the form's service call saved the show."""

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        show = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if show is not None and self._may_cancel(request, show):
            context["cancel_url"] = self._cancel_url([show.pk])
            context["cancel_label"] = CANCEL_LABEL
        return super().change_view(request, object_id, form_url, context)

    # Columns and read-only fields ------------------------------------------------------------

    @admin.display(description="Local start", ordering="starts_at")
    def local_start(self, show: Showtime) -> str:
        return local_time(show.starts_at, show.screen.theater.timezone)

    @admin.display(description="Local end")
    def local_end(self, show: Showtime) -> str:
        return local_time(show.ends_at, show.screen.theater.timezone)

    @admin.display(description="Screen free again (cleaning included)")
    def local_blocked_until(self, show: Showtime) -> str:
        return local_time(show.blocked_until, show.screen.theater.timezone)

    @admin.display(description="Bookings")
    def bookings_link(self, show: Showtime) -> str:
        count = show.bookings.count()  # the reverse relation of booking.Booking.showtime
        url = reverse("admin:booking_booking_changelist") + f"?showtime={show.pk}"
        label = ngettext("%(n)d booking", "%(n)d bookings", count) % {"n": count}
        return format_html('<a href="{}">{}</a>', url, label)

    # Cancelling ----------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        own = [
            path(
                "cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="schedule_showtime_cancel",
            )
        ]
        return own + super().get_urls()

    def _cancel_url(self, ids: list[int]) -> str:
        return reverse("admin:schedule_showtime_cancel") + "?ids=" + ",".join(map(str, ids))

    def _may_cancel(self, request: HttpRequest, show: Showtime) -> bool:
        return show.status == ShowtimeStatus.SCHEDULED and self.has_change_permission(request)

    @admin.action(description=CANCEL_LABEL, permissions=["change"])
    def cancel_shows(self, request: HttpRequest, queryset: Any) -> HttpResponse:
        """Leads to the confirmation page, which asks for the reason customers will read."""
        return HttpResponseRedirect(self._cancel_url(sorted(queryset.values_list("pk", flat=True))))

    def cancel_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        raw = request.GET.get("ids", "")
        ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
        shows = list(
            Showtime.objects.filter(pk__in=ids)
            .select_related("movie", "screen__theater")
            .order_by("starts_at", "pk")
        )
        changelist = reverse("admin:schedule_showtime_changelist")
        if not shows:
            self.message_user(request, "No show was selected.", messages.WARNING)
            return HttpResponseRedirect(changelist)
        live = [show for show in shows if show.status == ShowtimeStatus.SCHEDULED]
        form = CancelForm(request.POST or None)
        if request.method == "POST" and live and form.is_valid():
            try:
                for show in live:
                    services.cancel_showtime(
                        showtime=show,
                        reason=form.cleaned_data["reason"],
                        # The admin site serves only signed-in staff: never an AnonymousUser.
                        by=cast(User, request.user),
                    )
            except Conflict as exc:
                form.add_error(None, str(exc))
            except ValueError as exc:  # Invalid: the field at fault
                attr = getattr(exc, "attr", None)
                form.add_error(attr if attr in form.fields else None, str(exc))
            else:
                self.message_user(
                    request,
                    ngettext(
                        "Cancelled %(n)d show. Its bookings are cancelled and refunded, and "
                        "customers are emailed the reason.",
                        "Cancelled %(n)d shows. Their bookings are cancelled and refunded, and "
                        "customers are emailed the reason.",
                        len(live),
                    )
                    % {"n": len(live)},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(changelist)
        rows = [
            {
                "show": show,
                "local_start": local_time(show.starts_at, show.screen.theater.timezone),
                "bookings": show.bookings.count(),
                "cancelled": show.status != ShowtimeStatus.SCHEDULED,
            }
            for show in shows
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": CANCEL_LABEL,
            "subtitle": None,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "rows": rows,
            "live": live,
            "form": form,
            "cancel_label": CANCEL_LABEL,
        }
        return TemplateResponse(
            request, "admin/schedule/showtime/cancel_confirmation.html", context
        )

    def protected_text(self, request: HttpRequest, obj: Any) -> str:
        message = self.protected_message.format(label=CANCEL_LABEL)
        if obj is not None and self._may_cancel(request, obj):
            return format_html(
                '{} <a href="{}">{}</a>', message, self._cancel_url([obj.pk]), CANCEL_LABEL
            )
        return message


def _has_field(name: str) -> bool:
    return any(f.name == name for f in Showtime._meta.get_fields())

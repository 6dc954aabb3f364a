"""What the worker did with the customer's emails, for admins: read-only (an email's record is
history, not a form), filterable by state, with the last error shown and an action that queues a
given-up email again."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from . import tasks
from .models import EmailNotification


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return EmailNotification.State.choices

    def queryset(self, request, queryset):
        by_state: dict[str | None, Callable[[], QuerySet[EmailNotification]]] = {
            EmailNotification.State.GAVE_UP: queryset.gave_up,
            EmailNotification.State.PENDING: queryset.pending,
            EmailNotification.State.SENT: queryset.sent,
        }
        return by_state.get(self.value(), queryset.all)()


@admin.register(EmailNotification)
class EmailNotificationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "booking",
        "kind",
        "state_label",
        "attempts",
        "short_error",
        "created_at",
        "sent_at",
        "failed_at",
    ]
    list_filter = [StateFilter, "kind"]
    search_fields = ["booking__id", "booking__user__username", "booking__user__email", "last_error"]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    fields = [
        "booking",
        "kind",
        "state_label",
        "attempts",
        "last_error",
        "created_at",
        "claimed_at",
        "sent_at",
        "failed_at",
    ]
    # The stubs type `fields` as (possibly nested) field groups and `readonly_fields` as flat
    # names; this list is flat.
    readonly_fields = fields  # type: ignore[assignment]

    @admin.display(description="state")
    def state_label(self, note: EmailNotification) -> str:
        return EmailNotification.State(note.state).label

    @admin.display(description="last error")
    def short_error(self, note: EmailNotification) -> str:
        return note.last_error if len(note.last_error) <= 120 else note.last_error[:119] + "…"

    @admin.action(description="Send the selected given-up emails again", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet[EmailNotification]) -> None:
        chosen = list(queryset.values_list("pk", flat=True))
        queued = tasks.retry_given_up(chosen)
        skipped = len(chosen) - queued
        self.message_user(request, f"{queued} email(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} email(s) left alone: only emails the worker gave up on are retried.",
                messages.WARNING,
            )

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

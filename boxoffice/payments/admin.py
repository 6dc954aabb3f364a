"""Money records for admins: read-only (refunds and Stripe's events are history written by the
payment flows, never edited by hand). Refunds filter by state, "gave up" listing the ones the
worker stopped retrying, with the last error shown."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Refund, StripeEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class RefundStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("gave_up", "Gave up"), ("pending", "Pending"), ("succeeded", "Succeeded")]

    def queryset(self, request, queryset):
        by_state: dict[str | None, Callable[[], QuerySet[Refund]]] = {
            "gave_up": queryset.gave_up,
            "pending": queryset.pending,
            "succeeded": queryset.succeeded,
        }
        return by_state.get(self.value(), queryset.all)()


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "booking",
        "reason",
        "amount",
        "currency",
        "state_label",
        "attempts",
        "short_error",
        "created_at",
        "succeeded_at",
        "failed_at",
    ]
    list_filter = [RefundStateFilter, "reason", "currency"]
    search_fields = [
        "booking__id",
        "booking__user__username",
        "booking__user__email",
        "stripe_refund_id",
        "last_error",
    ]
    list_select_related = ["booking"]
    date_hierarchy = "created_at"

    @admin.display(description="state")
    def state_label(self, refund: Refund) -> str:
        if refund.status == Refund.Status.PENDING and refund.failed_at is not None:
            return "Gave up"
        return refund.get_status_display()

    @admin.display(description="last error")
    def short_error(self, refund: Refund) -> str:
        return refund.last_error if len(refund.last_error) <= 120 else refund.last_error[:119] + "…"


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "payment_intent_id", "outcome", "reason", "received_at"]
    list_filter = ["type", "outcome", "reason"]
    search_fields = ["event_id", "payment_intent_id"]
    date_hierarchy = "received_at"

from django.contrib import admin

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
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    """Read-only: status changes go through the API's state machine, never a form."""

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
    list_filter = ["status", "currency", "showtime__screen__theater"]
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

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Booking._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(PricePolicy)
class PricePolicyAdmin(admin.ModelAdmin):
    """Saving a policy always adds a new version, so frozen booking prices never move."""

    list_display = ["id", *PricePolicy.VERSION_FIELDS, "created_at", "created_by"]
    readonly_fields = ["created_at", "created_by"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        new = services.new_price_policy(
            by=request.user, **{f: form.cleaned_data[f] for f in PricePolicy.VERSION_FIELDS}
        )
        obj.pk = new.pk

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

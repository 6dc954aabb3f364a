from django.contrib import admin

from .models import Showtime


@admin.register(Showtime)
class ShowtimeAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "movie",
        "screen",
        "starts_at",
        "ends_at",
        "base_price",
        "currency",
        "status",
    ]
    list_filter = ["status", "screen__theater", "screen", "movie"]
    search_fields = ["movie__title", "screen__name", "screen__theater__name"]
    date_hierarchy = "starts_at"
    list_select_related = ["movie", "screen__theater"]
    readonly_fields = ["ends_at", "blocked_until", "created_at"]
    autocomplete_fields = ["movie", "screen"]

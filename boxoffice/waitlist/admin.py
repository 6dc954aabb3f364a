"""The waitlist on the admin site: read only. Entries change through the API and the worker
(services.py), so that every offer is a hold with every seat rule; the admin site only shows
them."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import WaitlistEntry


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(admin.ModelAdmin):
    list_display = ["id", "showtime", "user", "quantity", "status", "created_at", "offer"]
    list_filter = ["status"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user", "showtime", "offer"]
    ordering = ["-created_at", "-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "email", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    # The stubs type ModelAdmin.fieldsets as optional; Django's UserAdmin always sets it.
    fieldsets = (*DjangoUserAdmin.fieldsets, ("boxoffice", {"fields": ["role"]}))  # type: ignore[misc]

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.http import HttpRequest

from . import services
from .models import Role, User


class UserChangeForm(DjangoUserChangeForm):
    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("is_superuser") and data.get("role") != Role.ADMIN:
            self.add_error(
                "role",
                "A superuser is an admin: choose the admin role, or untick superuser status.",
            )
        return data


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """``is_staff`` follows the role (read-only here): saving the form sets the role through
    services.set_role, as the API's promote does, so an admin can open this site and a customer
    cannot."""

    form = UserChangeForm
    list_display = ["username", "email", "role", "is_staff", "is_active", "date_joined"]
    list_filter = ["role", "is_staff", "is_superuser", "is_active"]
    search_fields = ["username", "email", "first_name", "last_name"]
    readonly_fields = ["is_staff"]
    # The stubs type ModelAdmin.fieldsets as optional; Django's UserAdmin always sets it.
    fieldsets = (*DjangoUserAdmin.fieldsets, ("boxoffice", {"fields": ["role"]}))  # type: ignore[misc]

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.set_role(user=obj, role=obj.role)

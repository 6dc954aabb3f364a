from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ADMIN = "admin", "Admin"


def language_codes() -> list[str]:
    """The languages a customer may choose (settings.LANGUAGES)."""
    return [code for code, _ in settings.LANGUAGES]


class BoxofficeUserManager(UserManager["User"]):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in. ``role`` decides what the API lets them do; ``is_staff`` only
    opens the Django admin site, and is kept in step with the role by the services."""

    email = models.EmailField("email address", unique=True)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.CUSTOMER)
    # The language of the customer's emails (and of the shop once they sign in on a browser
    # that has not chosen one): chosen at sign-up, changed on the account page.
    language = models.CharField(
        max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )

    objects: ClassVar[BoxofficeUserManager] = BoxofficeUserManager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(language__in=language_codes()),
                name="accounts_user_language_valid",
            ),
            # "Alice" and "alice" are one person: the database refuses the second, even when
            # both sign up at the same moment.
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

"""Create the first administrator from environment variables.

    BOXOFFICE_ADMIN_USERNAME=boss BOXOFFICE_ADMIN_EMAIL=boss@example.com \
    BOXOFFICE_ADMIN_PASSWORD='...' python manage.py create_admin

Running it again is safe: an existing user of that name is made an admin and given the password.
"""

import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from boxoffice.accounts.models import User
from boxoffice.accounts.services import ensure_admin


class Command(BaseCommand):
    help = "Create or update an administrator from BOXOFFICE_ADMIN_{USERNAME,EMAIL,PASSWORD}."

    def handle(self, *args, **options):
        username = os.environ.get("BOXOFFICE_ADMIN_USERNAME", "").strip()
        email = os.environ.get("BOXOFFICE_ADMIN_EMAIL", "").strip()
        password = os.environ.get("BOXOFFICE_ADMIN_PASSWORD", "")
        missing = [
            name
            for name, value in [
                ("BOXOFFICE_ADMIN_USERNAME", username),
                ("BOXOFFICE_ADMIN_EMAIL", email),
                ("BOXOFFICE_ADMIN_PASSWORD", password),
            ]
            if not value
        ]
        if missing:
            raise CommandError(f"Set {', '.join(missing)}.")
        try:
            validate_password(password, user=User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError("Password refused: " + " ".join(exc.messages)) from exc
        user, created = ensure_admin(username=username, email=email, password=password)
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} administrator {user.username!r}."))

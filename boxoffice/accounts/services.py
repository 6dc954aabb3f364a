"""Every write to users goes through here."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .models import Role, User


def register_user(*, username: str, email: str, password: str) -> User:
    """Create a customer. Password validators run against the would-be user, so a password
    too close to the username or email is refused. Raises django ValidationError naming the
    field at fault (the API's handler maps it to a 400), also when a racing sign-up took the
    name or address first (the case-insensitive unique constraints)."""
    user = User(username=username, email=email.lower(), role=Role.CUSTOMER)
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.error_list}) from exc
    user.set_password(password)
    user.full_clean(exclude=["password"], validate_constraints=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"username": ["A user with that username or email already exists."]}, code="unique"
        ) from exc
    return user


@transaction.atomic
def promote_user(*, user: User) -> User:
    """Make ``user`` an administrator. Idempotent: promoting an admin changes nothing."""
    User.objects.filter(pk=user.pk).update(role=Role.ADMIN, is_staff=True)
    user.refresh_from_db(fields=["role", "is_staff"])
    return user


def ensure_admin(*, username: str, email: str, password: str) -> tuple[User, bool]:
    """Create the first administrator, or make an existing user of that name one.
    Returns the user and whether it was created."""
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_superuser(username=username, email=email, password=password)
            return user, True
        user.role = Role.ADMIN
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save(update_fields=["role", "is_staff", "is_superuser", "password"])
        return user, False

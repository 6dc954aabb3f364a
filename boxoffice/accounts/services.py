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
def set_role(*, user: User, role: str) -> User:
    """Give ``user`` the ``role`` with the Django admin site access that goes with it: an admin
    is staff; a customer is neither staff nor superuser (a superuser is an admin to the API
    whatever the role). The one door for role changes: the API's promote and the admin site's
    user form both come here. Idempotent."""
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}; use {Role.values}.")
    fields: dict[str, object] = {"role": role, "is_staff": role == Role.ADMIN}
    if role != Role.ADMIN:
        fields["is_superuser"] = False
    User.objects.filter(pk=user.pk).update(**fields)
    user.refresh_from_db(fields=list(fields))
    return user


def promote_user(*, user: User) -> User:
    """Make ``user`` an administrator. Idempotent: promoting an admin changes nothing."""
    return set_role(user=user, role=Role.ADMIN)


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

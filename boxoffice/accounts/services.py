"""Every write to users goes through here."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from boxoffice.core.errors import InputError

from .models import Role, User
from .signals import password_reset_requested


def register_user(
    *, username: str, email: str, password: str, language: str = settings.LANGUAGE_CODE
) -> User:
    """Create a customer, whose emails speak ``language`` (one of settings.LANGUAGES). Password validators run against the would-be user, so a password
    too close to the username or email is refused. Raises django ValidationError naming the
    field at fault (the API's handler maps it to a 400), also when a racing sign-up took the
    name or address first (the case-insensitive unique constraints)."""
    user = User(username=username, email=email.lower(), role=Role.CUSTOMER, language=language)
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


def set_language(*, user: User, language: str) -> User:
    """The language of ``user``'s emails (and pages where their browser chose none). The
    database refuses a code outside settings.LANGUAGES (a check constraint); the API's choice
    field says so first."""
    user.language = language
    user.save(update_fields=["language"])
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


# --- Passwords ------------------------------------------------------------------------------
# A password change, by the user or through a reset link, signs out every session at once: JWTs
# carry a hash of the password (SIMPLE_JWT CHECK_REVOKE_TOKEN) that access tokens are checked
# against by simplejwt and refresh tokens by accounts.api (_refuse_if_password_changed). Saving
# the new password is therefore the whole revocation; nothing else has to be remembered.

INVALID_RESET_LINK = "This password-reset link is invalid, used or expired; ask for a new one."


def request_password_reset(*, email: str, base_url: str) -> None:
    """Ask for a password-reset email to ``email``. Always the same work, whether or not an
    account has that address: the request is queued (``password_reset_requested``, received by
    the notifications app) and the worker looks the account up, sending nothing when there is
    none."""
    with transaction.atomic():
        password_reset_requested.send(sender=User, email=email.strip(), base_url=base_url)


def reset_link_user(email: str) -> User | None:
    """The account a reset link for ``email`` goes to: active, with a usable password (an
    account an admin disabled stays disabled)."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    return user if user is not None and user.has_usable_password() else None


def reset_link_parts(user: User) -> tuple[str, str]:
    """``(uid, token)`` for a reset link: the user's id in URL-safe base64 and Django's token,
    which is valid for PASSWORD_RESET_TIMEOUT seconds and only until the password changes."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def _user_of_uid(uid: str) -> int | None:
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (TypeError, ValueError, UnicodeDecodeError, OverflowError):
        return None
    return pk if 0 < pk < 2**63 else None


def _validated_password(password: str, *, user: User, field: str) -> None:
    """Django's password validators, their errors named after ``field``."""
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.error_list}) from exc


def reset_password(*, uid: str, token: str, password: str) -> User:
    """Set the password of the link's user. The token is checked on the user's row locked, so
    of two requests with one link the second sees the new password, for which the token is no
    longer valid: a link works once. Raises InputError ``invalid_token`` (field ``token``) for a
    bad, used or expired link, and Django's ValidationError (field ``password``) when a
    validator refuses the password (the link stays usable then)."""
    pk = _user_of_uid(uid)
    with transaction.atomic():
        user = _locked_active_user(pk) if pk is not None else None
        if user is None or not default_token_generator.check_token(user, token):
            raise InputError(INVALID_RESET_LINK, field="token", code="invalid_token")
        _validated_password(password, user=user, field="password")
        _save_password(user, password)
    return user


def _locked_active_user(pk: int) -> User | None:
    """The user's row, locked until the transaction ends (the guard that makes a reset link
    work once; tests/concurrency/test_password_reset_race.py takes it away)."""
    return User.objects.select_for_update(no_key=True).filter(pk=pk, is_active=True).first()


def _save_password(user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])


def change_password(*, user: User, old_password: str, new_password: str) -> User:
    """The signed-in user's own change: the old password must be right (InputError
    ``password_incorrect`` on ``old_password``), the new one pass the validators (Django's
    ValidationError on ``new_password``)."""
    with transaction.atomic():
        locked = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if not locked.check_password(old_password):
            raise InputError(
                "Your old password was entered incorrectly.",
                field="old_password",
                code="password_incorrect",
            )
        _validated_password(new_password, user=locked, field="new_password")
        _save_password(locked, new_password)
    return locked

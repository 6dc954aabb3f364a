"""The password-reset email: queued in the request's transaction (a receiver of
``accounts.signals.password_reset_requested``), composed and sent by the worker.

The task receives the address, not the account: the request does the same work whether or not
the address is known, and the worker looks the account up (nothing is sent when there is none).
The link's token is made when the email is composed, so no token is ever stored (the task
table keeps only the address) and its PASSWORD_RESET_TIMEOUT counts from the email. An SMTP
failure is retried with backoff like the booking emails (:func:`boxoffice.core.tasks.retry_later`);
there is no ``EmailNotification`` row to give up on: the user asks for a new link instead.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.dispatch import receiver
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from boxoffice.accounts import services as accounts
from boxoffice.accounts.models import User
from boxoffice.accounts.signals import password_reset_requested
from boxoffice.core.tasks import retry_later

from .emails import in_language, language_of

log = logging.getLogger(__name__)


@receiver(password_reset_requested, sender=User)
def queue_password_reset(sender, email: str, base_url: str, **kwargs) -> None:
    send_password_reset_email.enqueue(email=email, base_url=base_url)


def compose_password_reset(user: User, *, base_url: str) -> EmailMultiAlternatives:
    """In the user's language, as every email to a customer (:mod:`.emails`)."""
    language = language_of(user)
    with translation.override(language):
        return in_language(_compose(user, base_url=base_url), language)


def _compose(user: User, *, base_url: str) -> EmailMultiAlternatives:
    uid, token = accounts.reset_link_parts(user)
    context = {
        "user": user,
        "link": f"{base_url.rstrip('/')}/reset/{uid}/{token}/",
        "valid_minutes": max(1, settings.PASSWORD_RESET_TIMEOUT // 60),
        "forgot_link": f"{base_url.rstrip('/')}/forgot/",
    }
    message = EmailMultiAlternatives(
        subject=_("Reset your boxoffice password"),
        body=render_to_string("notifications/password_reset.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("notifications/password_reset.html", context), "text/html"
    )
    return message


@task()
def send_password_reset_email(*, email: str, base_url: str, attempt: int = 0) -> str:
    user = accounts.reset_link_user(email)
    if user is None:
        return "no such account"
    try:
        compose_password_reset(user, base_url=base_url).send()
    except Exception as exc:  # SMTP or not: retried with backoff
        log.warning(
            "password-reset email failed (attempt %d): %s",
            attempt + 1,
            type(exc).__name__,
            exc_info=not isinstance(exc, OSError),
        )
        if retry_later(send_password_reset_email, attempt=attempt, email=email, base_url=base_url):
            return "retrying"
        log.error("password-reset email: gave up after %d attempts", attempt + 1)
        return "gave up"
    return "sent"

"""An email that fails for any reason (not only SMTP: a template error, a database blip, a bug)
is released and retried with backoff, never left claimed and forgotten; when the retries run out
the row says so, and admins find it in the admin site under "gave up" and can queue it again.
Refunds the worker gave up on are listed there too."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from boxoffice.core import housekeeping
from boxoffice.notifications import tasks
from boxoffice.notifications.models import EmailNotification
from boxoffice.notifications.tasks import send_booking_email
from boxoffice.payments.models import Refund
from tests.conftest import make_user
from tests.support.tasks import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

SEND_EMAIL = "boxoffice.notifications.tasks.send_booking_email"
LOCMEM = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
EMAILS = reverse("admin:notifications_emailnotification_changelist")
REFUNDS = reverse("admin:payments_refund_changelist")


@pytest.fixture
def note(settings, booking_at, note_for) -> EmailNotification:  # type: ignore[no-untyped-def]
    settings.MAILERS = LOCMEM
    settings.TASK_RETRY_BASE_SECONDS = 30
    mail.outbox = []
    note = note_for(booking_at("Europe/Berlin", datetime(2027, 3, 29, 20, 0)))
    send_booking_email.enqueue(notification_id=note.pk)
    return note


@pytest.fixture
def broken_template(settings, tmp_path):  # type: ignore[no-untyped-def]
    """The receipt's text template with a syntax error, found before the app's own (as a bad
    deploy would ship it); ``fix()`` puts the good one back."""
    (tmp_path / "notifications").mkdir()
    (tmp_path / "notifications" / "receipt.txt").write_text("Hello {% if %}\n")
    good = settings.TEMPLATES
    settings.TEMPLATES = [{**good[0], "DIRS": [str(tmp_path)]}]

    class Broken:
        @staticmethod
        def fix() -> None:
            settings.TEMPLATES = good

    return Broken


def _make_due() -> None:
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def _superuser_client() -> Client:
    client = Client()
    client.force_login(make_user("boss", is_staff=True, is_superuser=True))
    return client


def _listed(client: Client, url: str, query: str) -> list[int]:
    response = client.get(f"{url}?{query}")
    assert response.status_code == 200, response.content[:500]
    return [row.pk for row in response.context["cl"].result_list]


# --- retried, not forgotten --------------------------------------------------------------------


def test_a_template_error_releases_the_email_and_retries_it(note, broken_template):
    before = timezone.now()
    run_worker()
    note.refresh_from_db()
    assert note.claimed_at is None  # not left claimed
    assert (note.sent_at, note.failed_at) == (None, None)
    assert note.attempts == 1
    assert note.last_error.startswith("TemplateSyntaxError")
    first = DBTaskResult.objects.exclude(status="READY").get(task_path=SEND_EMAIL)
    assert (first.status, first.return_value) == ("SUCCESSFUL", "retrying")
    retry = DBTaskResult.objects.get(task_path=SEND_EMAIL, status="READY")
    assert retry.args_kwargs["kwargs"] == {"notification_id": note.pk, "attempt": 1}
    assert retry.run_after >= before + timedelta(seconds=29)  # with backoff
    assert mail.outbox == []

    broken_template.fix()  # the next deploy
    _make_due()
    run_worker()
    note.refresh_from_db()
    assert note.sent_at is not None
    assert (note.attempts, note.last_error, note.claimed_at) == (2, "", note.claimed_at)
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("server closed the connection unexpectedly"),
        RuntimeError("a bug"),
        KeyError("seats"),
    ],
    ids=["database-blip", "bug", "key-error"],
)
def test_any_exception_is_retried_like_an_smtp_failure(note, monkeypatch, error):
    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise error

    monkeypatch.setattr(tasks, "compose", fail)
    run_worker()
    note.refresh_from_db()
    assert note.claimed_at is None
    assert note.attempts == 1
    assert note.last_error.startswith(type(error).__name__)
    assert DBTaskResult.objects.filter(task_path=SEND_EMAIL, status="FAILED").count() == 0
    assert DBTaskResult.objects.get(task_path=SEND_EMAIL, status="READY").args_kwargs["kwargs"] == {
        "notification_id": note.pk,
        "attempt": 1,
    }

    monkeypatch.undo()
    _make_due()
    run_worker()
    note.refresh_from_db()
    assert note.sent_at is not None
    assert len(mail.outbox) == 1


# --- given up: recorded, visible, retried by an admin ------------------------------------------


def test_after_the_limit_the_email_is_recorded_as_given_up_and_listed_in_the_admin(
    note, broken_template, settings
):
    settings.TASK_RETRY_BASE_SECONDS = 0  # every retry due at once
    settings.TASK_RETRY_LIMIT = 3
    run_worker()  # attempts 0, 1 and 2 fail; the third gives up
    note.refresh_from_db()
    assert note.attempts == 3
    assert note.sent_at is None
    assert note.claimed_at is None
    assert note.failed_at is not None
    assert note.state == EmailNotification.State.GAVE_UP
    assert "TemplateSyntaxError" in note.last_error
    assert not DBTaskResult.objects.filter(status="READY").exists()
    assert DBTaskResult.objects.filter(task_path=SEND_EMAIL, return_value="gave up").count() == 1
    assert list(EmailNotification.objects.gave_up()) == [note]

    admin = _superuser_client()
    assert _listed(admin, EMAILS, "state=gave_up") == [note.pk]
    assert _listed(admin, EMAILS, "state=pending") == []
    assert _listed(admin, EMAILS, "state=sent") == []
    page = admin.get(f"{EMAILS}?state=gave_up").content.decode()
    assert "TemplateSyntaxError" in page  # the last error, on the list
    assert "Gave up" in page

    # The admin fixes the cause and retries it from the list.
    broken_template.fix()
    response = admin.post(
        f"{EMAILS}?state=gave_up",
        {"action": "retry", "_selected_action": [note.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "1 email(s) queued again" in response.content.decode()
    note.refresh_from_db()
    assert (note.failed_at, note.state) == (None, EmailNotification.State.PENDING)
    assert _listed(admin, EMAILS, "state=pending") == [note.pk]
    run_worker()
    note.refresh_from_db()
    assert note.sent_at is not None
    assert len(mail.outbox) == 1
    assert _listed(admin, EMAILS, "state=sent") == [note.pk]
    assert _listed(admin, EMAILS, "state=gave_up") == []


def test_the_retry_action_leaves_emails_that_did_not_give_up_alone(note):
    admin = _superuser_client()
    response = admin.post(EMAILS, {"action": "retry", "_selected_action": [note.pk]}, follow=True)
    assert "only emails the worker gave up on are retried" in response.content.decode()
    assert DBTaskResult.objects.filter(task_path=SEND_EMAIL).count() == 1  # the original only


def test_email_records_are_read_only_in_the_admin(note):
    admin = _superuser_client()
    add = reverse("admin:notifications_emailnotification_add")
    change = reverse("admin:notifications_emailnotification_change", args=[note.pk])
    delete = reverse("admin:notifications_emailnotification_delete", args=[note.pk])
    assert admin.get(add).status_code == 403
    page = admin.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin.post(change, {"kind": "cancellation"}).status_code == 403
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert EmailNotification.objects.get(pk=note.pk).kind == EmailNotification.Kind.RECEIPT


# --- a claim nobody released -------------------------------------------------------------------


def test_housekeeping_requeues_an_email_whose_task_died_holding_the_claim(note, settings):
    """The task failed before it could release its claim (the database gone at that moment, or
    the worker killed): the claim goes stale and housekeeping queues the email again, once."""
    DBTaskResult.objects.filter(task_path=SEND_EMAIL).update(status="FAILED")
    long_ago = timezone.now() - timedelta(seconds=settings.TASK_STALE_SECONDS + 1)
    EmailNotification.objects.filter(pk=note.pk).update(claimed_at=long_ago, attempts=1)

    assert housekeeping.jobs()["resend_stale_emails"]() == 1
    assert tasks.resend_stale_claims() == 0  # released: not queued twice
    queued = DBTaskResult.objects.get(task_path=SEND_EMAIL, status="READY")
    assert queued.args_kwargs["kwargs"] == {"notification_id": note.pk, "attempt": 1}
    run_worker()
    note.refresh_from_db()
    assert note.sent_at is not None
    assert len(mail.outbox) == 1


def test_a_fresh_claim_is_not_requeued(note):
    EmailNotification.objects.filter(pk=note.pk).update(claimed_at=timezone.now())
    assert tasks.resend_stale_claims() == 0


# --- refunds the worker gave up on ---------------------------------------------------------------


def test_refunds_given_up_are_listed_in_the_admin_with_their_error(booking_at):
    bookings = [booking_at("Asia/Tokyo", datetime(2027, 1, 10 + i, 18, 0)) for i in range(3)]
    gave_up, pending, done = (
        Refund.objects.create(
            booking=b, reason="customer", amount=Decimal("10.00"), currency="usd", attempts=1
        )
        for b in bookings
    )
    Refund.objects.filter(pk=pending.pk).update(last_error="Stripe unavailable (pending)")
    Refund.objects.filter(pk=gave_up.pk).update(attempts=8, last_error="Stripe said no: gave up")
    Refund.objects.filter(pk=done.pk).update(
        status=Refund.Status.SUCCEEDED, succeeded_at=timezone.now()
    )

    # What the refund task's give-up path calls when retry_later returns False.
    assert Refund.objects.record_give_up(booking_id=gave_up.booking_id, reason="customer") == 1
    assert Refund.objects.record_give_up(booking_id=done.booking_id, reason="customer") == 0
    assert list(Refund.objects.gave_up()) == [gave_up]

    admin = _superuser_client()
    assert _listed(admin, REFUNDS, "state=gave_up") == [gave_up.pk]
    assert _listed(admin, REFUNDS, "state=pending") == [pending.pk]
    assert _listed(admin, REFUNDS, "state=succeeded") == [done.pk]
    page = admin.get(f"{REFUNDS}?state=gave_up").content.decode()
    assert "Stripe said no: gave up" in page
    assert "Gave up" in page

    change = reverse("admin:payments_refund_change", args=[gave_up.pk])
    assert admin.get(reverse("admin:payments_refund_add")).status_code == 403
    assert 'name="_save"' not in admin.get(change).content.decode()
    assert admin.post(change, {"amount": "1.00"}).status_code == 403
    delete = reverse("admin:payments_refund_delete", args=[gave_up.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    assert Refund.objects.get(pk=gave_up.pk).amount == Decimal("10.00")

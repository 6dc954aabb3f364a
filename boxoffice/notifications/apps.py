from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "boxoffice.notifications"
    label = "notifications"

    def ready(self) -> None:
        from boxoffice.core import housekeeping

        # receivers and password_reset connect to the booking signals and accounts' reset one.
        from . import password_reset, receivers, tasks  # noqa: F401

        # An email whose task died holding its claim is queued again (see tasks.py).
        housekeeping.register("resend_stale_emails", tasks.resend_stale_claims)

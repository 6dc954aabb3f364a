from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "boxoffice.notifications"
    label = "notifications"

    def ready(self) -> None:
        from boxoffice.core import housekeeping

        from . import receivers, tasks  # noqa: F401  (receivers: connects to the booking signals)

        # An email whose task died holding its claim is queued again (see tasks.py).
        housekeeping.register("resend_stale_emails", tasks.resend_stale_claims)

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "boxoffice.notifications"
    label = "notifications"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the booking signals)

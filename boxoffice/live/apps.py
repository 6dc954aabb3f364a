from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "boxoffice.live"
    label = "live"
    verbose_name = "live seat maps"

    def ready(self) -> None:
        from . import transport  # noqa: F401  (publishes the booking app's seat changes)

from django.apps import AppConfig


class ScheduleConfig(AppConfig):
    name = "boxoffice.schedule"
    label = "schedule"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the catalog's signals)

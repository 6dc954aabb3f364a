from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "boxoffice.core"
    label = "core"
    verbose_name = "boxoffice core"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our cookie/Bearer authentication class.
        from boxoffice.accounts import openapi  # noqa: F401

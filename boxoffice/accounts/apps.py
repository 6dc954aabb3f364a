from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "boxoffice.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Registers the OpenAPI extension for our cookie/Bearer authentication class here, in
        # the app that owns the class: core sits below accounts and must not import it.
        from . import openapi  # noqa: F401

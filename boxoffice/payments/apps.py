from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "boxoffice.payments"
    label = "payments"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to the booking signals)

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "boxoffice.payments"
    label = "payments"

    def ready(self) -> None:
        from boxoffice.core import housekeeping

        from . import receivers, tasks  # noqa: F401  (receivers: connects to the booking signals)

        housekeeping.register("reconcile_payments", tasks.enqueue_reconciliation)

from django.apps import AppConfig


class WaitlistConfig(AppConfig):
    name = "boxoffice.waitlist"
    label = "waitlist"

    def ready(self) -> None:
        from boxoffice.core import housekeeping

        from . import receivers, services  # noqa: F401  (receivers: connects to booking's signals)

        housekeeping.register("waitlist_offers", services.sweep)

from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "boxoffice.booking"
    label = "booking"

    def ready(self) -> None:
        from boxoffice.core import housekeeping

        from . import receivers, services  # noqa: F401  (receivers: connects to the signals below)

        housekeeping.register("expire_holds", services.expire_bookings)
        housekeeping.register("end_cancelled_shows", services.end_bookings_of_cancelled_shows)
        housekeeping.register("drop_old_seat_changes", services.drop_old_seat_changes)

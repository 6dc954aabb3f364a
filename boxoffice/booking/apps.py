from django.apps import AppConfig


class BookingConfig(AppConfig):
    name = "boxoffice.booking"
    label = "booking"

    def ready(self) -> None:
        from boxoffice.core import housekeeping
        from boxoffice.schedule import selectors as schedule_selectors

        from . import receivers, services  # noqa: F401  (receivers: connects to the signals below)
        from .models import live_seat_q

        # The schedule (below us) counts live seats by our rule, handed down here.
        schedule_selectors.register_live_seat_rule(live_seat_q)

        housekeeping.register("expire_holds", services.expire_bookings)
        housekeeping.register("end_cancelled_shows", services.end_bookings_of_cancelled_shows)
        housekeeping.register("drop_old_seat_changes", services.drop_old_seat_changes)

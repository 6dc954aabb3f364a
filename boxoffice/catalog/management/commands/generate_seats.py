"""Build a screen's seat grid from the command line.

python manage.py generate_seats "Screen 1" --rows 10 --seats-per-row 12 --vip A --premium B,C
"""

from django.core.management.base import BaseCommand, CommandError

from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import GridError, generate_seat_grid
from boxoffice.core.errors import Conflict


def _rows(value: str | None) -> list[str]:
    return [part.strip().upper() for part in (value or "").split(",") if part.strip()]


class Command(BaseCommand):
    help = "Replace a screen's seats with a rows x seats-per-row grid (rows A, B, ...)."

    def add_arguments(self, parser):
        parser.add_argument("screen", help="The screen's name")
        parser.add_argument("--theater", help="The theater's name, when screen names repeat")
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--seats-per-row", type=int, required=True)
        parser.add_argument("--vip", help="Comma-separated VIP rows, e.g. A")
        parser.add_argument("--premium", help="Comma-separated premium rows, e.g. B,C")

    def handle(self, *args, **opts):
        screens = Screen.objects.filter(name=opts["screen"]).select_related("theater")
        if opts["theater"]:
            screens = screens.filter(theater__name=opts["theater"])
        found = list(screens[:2])
        if not found:
            raise CommandError(f"No screen named {opts['screen']!r}.")
        if len(found) > 1:
            raise CommandError(f"Several screens are named {opts['screen']!r}; add --theater.")
        tiers = {"vip": _rows(opts["vip"]), "premium": _rows(opts["premium"])}
        try:
            seats = generate_seat_grid(
                screen=found[0],
                rows=opts["rows"],
                seats_per_row=opts["seats_per_row"],
                tiers={k: v for k, v in tiers.items() if v},
            )
        except (GridError, Conflict) as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from exc
        self.stdout.write(self.style.SUCCESS(f"{found[0]}: {len(seats)} seats."))

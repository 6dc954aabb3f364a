"""Build a screen's seat grid from the command line.

python manage.py generate_seats "Screen 1" --rows 10 --seats-per-row 16 --vip A --premium B,C \
    --aisles-after 4,12 --wheelchair J1,J16 --companion J2,J15 --blocked E8
"""

from django.core.management.base import BaseCommand, CommandError

from boxoffice.catalog.models import Screen
from boxoffice.catalog.services import GridError, generate_seat_grid
from boxoffice.core.errors import Conflict


def _rows(value: str | None) -> list[str]:
    """Comma-separated row names or seat labels, upper-cased."""
    return [part.strip().upper() for part in (value or "").split(",") if part.strip()]


def _numbers(value: str | None) -> list[int]:
    try:
        return [int(part) for part in _rows(value)]
    except ValueError as exc:
        raise CommandError(
            f"--aisles-after takes seat numbers, e.g. 4,12 (got {value!r})."
        ) from exc


class Command(BaseCommand):
    help = "Replace a screen's seats with a rows x seats-per-row grid (rows A, B, ...)."

    def add_arguments(self, parser):
        parser.add_argument("screen", help="The screen's name")
        parser.add_argument("--theater", help="The theater's name, when screen names repeat")
        parser.add_argument("--rows", type=int, required=True)
        parser.add_argument("--seats-per-row", type=int, required=True)
        parser.add_argument("--vip", help="Comma-separated VIP rows, e.g. A")
        parser.add_argument("--premium", help="Comma-separated premium rows, e.g. B,C")
        parser.add_argument(
            "--aisles-after", help="Seat numbers followed by an aisle in every row, e.g. 4,12"
        )
        parser.add_argument("--wheelchair", help="Wheelchair spaces, e.g. J1,J16")
        parser.add_argument(
            "--companion", help="Companion seats, each beside its wheelchair space, e.g. J2,J15"
        )
        parser.add_argument("--blocked", help="Seats not for sale, e.g. E8")

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
        kinds = {"wheelchair": _rows(opts["wheelchair"]), "companion": _rows(opts["companion"])}
        try:
            seats = generate_seat_grid(
                screen=found[0],
                rows=opts["rows"],
                seats_per_row=opts["seats_per_row"],
                tiers={k: v for k, v in tiers.items() if v},
                aisles_after=_numbers(opts["aisles_after"]),
                kinds={k: v for k, v in kinds.items() if v},
                blocked=_rows(opts["blocked"]),
            )
        except (GridError, Conflict) as exc:
            raise CommandError(str(getattr(exc, "detail", exc))) from exc
        self.stdout.write(self.style.SUCCESS(f"{found[0]}: {len(seats)} seats."))

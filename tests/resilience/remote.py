"""Django-side steps of the resilience tests, run in a process of their own against the
database the test gives in DATABASE_URL (the test process itself uses another database):

    python -m tests.resilience.remote <command> '<json arguments>'

prints one JSON line with the result.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from decimal import Decimal

PASSWORD = "resilience-password-1"


def seed(*, customers: int, shows: int, rows: int, per_row: int) -> dict:
    """Customers with a password, one screen of rows x per_row seats, ``shows`` showtimes."""
    from django.utils import timezone

    from boxoffice.accounts.models import Role, User
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    users = []
    for i in range(customers):
        name = f"load{i}"
        User.objects.create_user(
            username=name, email=f"{name}@example.com", password=PASSWORD, role=Role.CUSTOMER
        )
        users.append(name)
    theater = Theater.objects.create(name="Resilience", address="1 Fault St", timezone="UTC")
    screen = Screen.objects.create(theater=theater, name="Big", cleaning_minutes=15)
    generate_seat_grid(
        screen=screen, rows=rows, seats_per_row=per_row, tiers={"vip": ["A"], "premium": ["B"]}
    )
    movie = Movie.objects.create(title="Metropolis", duration_minutes=120)
    start = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    showtimes = [
        create_showtime(
            movie=movie,
            screen=screen,
            starts_at=start + timedelta(hours=3 * i),
            base_price=Decimal("10.00"),
        ).pk
        for i in range(shows)
    ]
    return {"customers": users, "password": PASSWORD, "showtimes": showtimes}


def confirmed_booking() -> dict:
    """A paid, confirmed booking of two seats: its receipt is queued for the worker."""
    from boxoffice.accounts.models import User
    from boxoffice.booking import services
    from boxoffice.catalog.models import Seat
    from boxoffice.schedule.models import Showtime

    info = seed(customers=1, shows=1, rows=2, per_row=4)
    user = User.objects.get(username=info["customers"][0])
    showtime = Showtime.objects.get(pk=info["showtimes"][0])
    seats = list(
        Seat.objects.filter(screen=showtime.screen_id).order_by("pk").values_list("pk", flat=True)
    )[:2]
    booking = services.create_hold(user=user, showtime=showtime, seat_ids=seats)
    outcome = services.record_payment(booking=booking, amount=booking.total).outcome
    note = booking.emails.get()
    return {"booking_id": booking.pk, "outcome": str(outcome), "notification_id": note.pk}


def requeue() -> dict:
    """What the worker's housekeeping does first: re-queue tasks left RUNNING by a dead worker."""
    from boxoffice.core.tasks import requeue_stale_tasks

    return {"requeued": requeue_stale_tasks()}


COMMANDS = {"seed": seed, "confirmed_booking": confirmed_booking, "requeue": requeue}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    command = sys.argv[1]
    kwargs = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    print(json.dumps(COMMANDS[command](**kwargs)))


if __name__ == "__main__":
    main()

"""Migrate an empty database and make one show to race on: ``python -m tests.live.seed N``
(DATABASE_URL names the database) prints ``{"showtime", "seats", "tokens"}`` as JSON: the
show's seat ids in row order and N customers' Bearer access tokens (signed with the settings'
key: the servers of the test run with the same environment)."""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from decimal import Decimal


def main(customers: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from boxoffice.accounts.models import User
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    call_command("migrate", verbosity=0)
    theater = Theater.objects.create(name="Odeon", address="1 Main St", timezone="UTC")
    screen = Screen.objects.create(
        theater=theater, name="Screen 1", cleaning_minutes=15, single_seat_rule=False
    )
    generate_seat_grid(screen=screen, rows=4, seats_per_row=5)
    movie = Movie.objects.create(title="Metropolis", duration_minutes=120)
    starts = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    show = create_showtime(
        movie=movie, screen=screen, starts_at=starts, base_price=Decimal("10.00")
    )
    tokens = []
    for n in range(customers):
        user = User.objects.create_user(
            username=f"buyer{n}", email=f"buyer{n}@example.com", password="not-used-here-1"
        )
        tokens.append(str(RefreshToken.for_user(user).access_token))
    seats = list(screen.seats.order_by("row_index", "number").values_list("pk", flat=True))
    print(json.dumps({"showtime": show.pk, "seats": seats, "tokens": tokens}))


if __name__ == "__main__":
    main(int(sys.argv[1]))

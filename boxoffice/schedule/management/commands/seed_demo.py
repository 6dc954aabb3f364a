"""Load demo data; safe to run any number of times (existing rows are kept, missing ones added).

Two theaters in different time zones, screens with tiered grids, eight movies with generated
posters, a week of non-overlapping shows, and two logins (printed at the end).

The logins have published passwords (an admin among them), so the command refuses to run with
DEBUG off, where it would most likely be a production database, unless given ``--force``.
"""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from PIL import Image, ImageDraw

from boxoffice.accounts.models import Role, User
from boxoffice.catalog.models import Genre, Movie, Screen, Theater
from boxoffice.catalog.services import generate_seat_grid
from boxoffice.schedule.models import Showtime
from boxoffice.schedule.services import ScheduleError, create_showtime

DEMO_USERS = [
    # username, password, role
    ("admin", "boxoffice-admin", Role.ADMIN),
    ("customer", "boxoffice-customer", Role.CUSTOMER),
]

GENRES = ["Action", "Comedy", "Drama", "Science Fiction", "Animation", "Thriller"]

MOVIES = [
    # title, minutes, rating, genres, colour
    ("The Last Projectionist", 118, "PG-13", ["Drama"], (120, 40, 40)),
    ("Orbit of Ash", 142, "PG-13", ["Science Fiction", "Action"], (30, 60, 120)),
    ("Popcorn Panic", 94, "PG", ["Comedy"], (200, 150, 20)),
    ("Midnight at the Matinee", 105, "R", ["Thriller"], (20, 20, 40)),
    ("Paper Lanterns", 88, "G", ["Animation"], (220, 90, 60)),
    ("Row Z", 111, "PG-13", ["Comedy", "Drama"], (60, 130, 80)),
    ("Silent Reel", 127, "PG", ["Drama"], (90, 90, 90)),
    ("Velocity Nine", 134, "PG-13", ["Action", "Thriller"], (160, 30, 90)),
]

THEATERS = [
    # name, address, timezone, screens: (name, rows, seats per row, vip rows, premium rows)
    (
        "Grand Lumière",
        "Friedrichstraße 101, 10117 Berlin",
        "Europe/Berlin",
        [("Saal 1", 10, 14, ["A"], ["B", "C"]), ("Saal 2", 6, 10, [], ["A"])],
    ),
    (
        "Pacific Pictures",
        "1200 Ocean Ave, Santa Monica, CA",
        "America/Los_Angeles",
        [("Screen 1", 12, 16, ["A", "B"], ["C", "D", "E"]), ("Screen 2", 8, 12, ["A"], ["B"])],
    ),
]

# Local start times per screen; with movies under 2h40 and a 15 minute gap they never overlap.
SLOTS = [time(10, 30), time(14, 0), time(17, 30), time(21, 0)]
BASE_PRICE = {
    "Europe/Berlin": (Decimal("11.50"), "eur"),
    "America/Los_Angeles": (Decimal("14.00"), "usd"),
}


def poster_png(title: str, colour: tuple[int, int, int]) -> bytes:
    image = Image.new("RGB", (300, 450), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle([12, 12, 287, 437], outline=(255, 255, 255), width=4)
    y = 180
    for word in title.split():
        draw.text((30, y), word, fill=(255, 255, 255))
        y += 24
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Load (or top up) the demo catalog, schedule and logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=7, help="Days of shows from today (default 7)"
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even with DEBUG off (creates logins with published passwords)",
        )

    def handle(self, *args, **opts):
        if not settings.DEBUG:
            if not opts["force"]:
                raise CommandError(
                    "seed_demo creates logins with published passwords (admin / "
                    "boxoffice-admin) and DEBUG is off, so this looks like a production "
                    "database: refused. Run it with DJANGO_DEBUG=1, or pass --force if you "
                    "really mean to."
                )
            self.stderr.write(
                self.style.WARNING(
                    "DEBUG is off and --force was given: creating the demo logins with their "
                    "published passwords. Change or remove them before going live."
                )
            )
        with transaction.atomic():
            self._users()
            genres = {
                name: Genre.objects.get_or_create(slug=slugify(name), defaults={"name": name})[0]
                for name in GENRES
            }
            movies = self._movies(genres)
            screens = self._theaters()
        created = self._shows(movies, screens, days=opts["days"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Movie.objects.count()} movies, {Screen.objects.count()} screens, "
                f"{Showtime.objects.count()} shows ({created} new)."
            )
        )
        for username, password, role in DEMO_USERS:
            self.stdout.write(f"  login {username} / {password} ({role})")

    def _users(self) -> None:
        for username, password, role in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@boxoffice.example",
                    "role": role,
                    "is_staff": role == Role.ADMIN,
                    "is_superuser": role == Role.ADMIN,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])

    def _movies(self, genres: dict[str, Genre]) -> list[Movie]:
        movies = []
        for index, (title, minutes, rating, names, colour) in enumerate(MOVIES):
            movie, created = Movie.objects.get_or_create(
                title=title,
                defaults={
                    "duration_minutes": minutes,
                    "age_rating": rating,
                    "description": f"{title}: a boxoffice demo feature.",
                    "release_date": date(2026, 1 + index, 10),
                },
            )
            if created or not movie.poster:
                movie.poster.save(f"{slugify(title)}.png", ContentFile(poster_png(title, colour)))
            movie.genres.add(*(genres[name] for name in names))
            movies.append(movie)
        return movies

    def _theaters(self) -> list[Screen]:
        screens = []
        for name, address, tz, screen_specs in THEATERS:
            theater, _ = Theater.objects.get_or_create(
                name=name, defaults={"address": address, "timezone": tz}
            )
            for screen_name, rows, per_row, vip, premium in screen_specs:
                screen, created = Screen.objects.get_or_create(theater=theater, name=screen_name)
                if created or not screen.seats.exists():
                    generate_seat_grid(
                        screen=screen,
                        rows=rows,
                        seats_per_row=per_row,
                        tiers={"vip": vip, "premium": premium},
                    )
                screens.append(screen)
        return screens

    def _shows(self, movies: list[Movie], screens: list[Screen], *, days: int) -> int:
        created = 0
        now = timezone.now()
        for screen_index, screen in enumerate(screens):
            tz = screen.theater.tzinfo
            price, currency = BASE_PRICE.get(screen.theater.timezone, (Decimal("12.00"), "usd"))
            today = now.astimezone(tz).date()
            for day_offset in range(days):
                day = today + timedelta(days=day_offset)
                for slot_index, slot in enumerate(SLOTS):
                    starts_at = datetime.combine(day, slot, tzinfo=tz)
                    if starts_at <= now:
                        continue
                    if Showtime.objects.filter(screen=screen, starts_at=starts_at).exists():
                        continue
                    movie = movies[(screen_index * 3 + day_offset + slot_index) % len(movies)]
                    try:
                        create_showtime(
                            movie=movie,
                            screen=screen,
                            starts_at=starts_at,
                            base_price=price,
                            currency=currency,
                        )
                        created += 1
                    except ScheduleError:
                        continue  # an admin scheduled something else there: keep it
        return created

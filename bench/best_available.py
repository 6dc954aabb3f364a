"""Best available against a plain hold of named seats, in the same run.

    .venv/bin/python -m bench.best_available          # about a minute

A 600-seat screen (20 rows x 30, aisles after seats 8 and 22; the single-seat gap rule on),
shows half full (300 random seats held, the same pattern for both sides of a round). Each round
makes HOLDS holds of N seats on two identical shows, one after the other in this process,
straight through the service layer (no HTTP, which would add the same cost to both sides):

- **best**: ``services.hold_best_available(quantity=N)``: reads the screen and the show's taken
  seats, chooses under the show's best-available lock, inserts;
- **named**: ``services.create_hold(seat_ids=...)`` for the very seats best available took, in
  the same order, on the twin show (so the same rules pass, and the same rows are written).

The two are interleaved hold by hold (each timed on its own), so load on the machine falls on
both sides alike.

Reported: holds/s of each per round, the ratio best/named per round and its median over the
rounds (goal >= 0.7). A scratch PostgreSQL database ``boxoffice_bench_best`` is created and
dropped at the end (``--keep-db`` keeps it); the cache is local memory (a hold's cache writes
are the same on both sides). Options: ``--rounds``, ``--holds``, ``--quantity``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal

from bench import common

DB = "boxoffice_bench_best"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--holds", type=int, default=60)
    parser.add_argument("--quantity", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    common.install_signal_handlers()
    url = common.recreate_database(DB)
    env = common.server_env(database=url, cache="locmem://")
    try:
        common.migrate(env)
        common.setup_django(env)
        result = run(args.rounds, args.holds, args.quantity)
        result["machine"] = common.machine()
        result["loadavg_after"] = common.loadavg()
        common.save_results("best_available", result)
    finally:
        if not args.keep_db:
            from django.db import connections

            connections.close_all()
            common.drop_database(DB)


def run(rounds: int, holds: int, quantity: int) -> dict[str, object]:
    from datetime import timedelta

    from django.utils import timezone

    from boxoffice.accounts.models import User
    from boxoffice.booking import pricing, services
    from boxoffice.catalog.models import Movie, Screen, Seat, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.models import Showtime
    from boxoffice.schedule.services import create_showtime

    pricing.current_policy()
    theater = Theater.objects.create(name="Bench", timezone="Europe/Berlin")
    screen = Screen.objects.create(theater=theater, name="Big", cleaning_minutes=0)
    generate_seat_grid(screen=screen, rows=20, seats_per_row=30, aisles_after=[8, 22])
    movie = Movie.objects.create(title="Bench", duration_minutes=90)
    seat_ids = sorted(Seat.objects.filter(screen=screen).values_list("pk", flat=True))
    assert len(seat_ids) == 600
    users = [
        User.objects.create_user(username=f"b{i}", password="x" * 12, email=f"b{i}@example.com")
        for i in range(holds + 30)
    ]
    buyers, fillers = users[:holds], users[holds:]
    start = timezone.now() + timedelta(days=2)

    def show(i: int) -> Showtime:
        created = create_showtime(
            movie=movie,
            screen=screen,
            starts_at=start + timedelta(hours=2 * i),
            base_price=Decimal("10.00"),
        )
        return Showtime.objects.select_related("screen__theater").get(pk=created.pk)

    def half_full(target: Showtime, pattern: list[int]) -> None:
        Screen.objects.filter(pk=screen.pk).update(single_seat_rule=False)
        target.screen.single_seat_rule = False
        for k in range(0, len(pattern), 10):
            services.create_hold(
                user=fillers[k // 10], showtime=target, seat_ids=pattern[k : k + 10]
            )
        Screen.objects.filter(pk=screen.pk).update(single_seat_rule=True)
        target.screen.single_seat_rule = True

    per_round = []
    for r in range(rounds):
        pattern = random.Random(r).sample(seat_ids, 300)
        best_show, named_show = show(2 * r), show(2 * r + 1)
        half_full(best_show, pattern)
        half_full(named_show, pattern)

        # Interleaved hold by hold (best k, then named k on the twin show with the seats best
        # available took), so load on the machine falls on both sides alike.
        best_seconds = named_seconds = 0.0
        for user in buyers:
            t0 = time.perf_counter()
            booking = services.hold_best_available(user=user, showtime=best_show, quantity=quantity)
            best_seconds += time.perf_counter() - t0
            seats = list(booking.seats.values_list("seat_id", flat=True))
            t0 = time.perf_counter()
            services.create_hold(user=user, showtime=named_show, seat_ids=seats)
            named_seconds += time.perf_counter() - t0

        row = {
            "best_holds_per_s": round(holds / best_seconds, 1),
            "named_holds_per_s": round(holds / named_seconds, 1),
            "ratio": round(named_seconds / best_seconds, 3),
        }
        common.log(f"round {r + 1}: {row}")
        per_round.append(row)

    ratio = statistics.median(row["ratio"] for row in per_round)
    common.log(f"median ratio best/named: {ratio} (goal >= 0.7)")
    return {
        "screen": "600 seats (20 x 30, aisles after 8 and 22), 300 held at random",
        "quantity": quantity,
        "holds_per_round": holds,
        "rounds": per_round,
        "median_ratio": ratio,
        "goal": 0.7,
    }


if __name__ == "__main__":
    main()

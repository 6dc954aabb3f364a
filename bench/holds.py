"""Holds against their ceiling: customers racing for one hot 400-seat show, served like production.

    .venv/bin/python -m bench.holds              # from the repository root, about 3 minutes

In a scratch PostgreSQL database, fresh 400-seat showtimes are sold out one at a time by
``--clients`` threads (16, then 64), each posting POST /api/v1/bookings/ {showtime, seats} for
1 to 4 random seats among those no 201 has granted yet (a perfectly live seat map: what a client
following the live stream knows) and that it has not tried itself. Customers are capped at
BOOKING_MAX_SEATS running seats per show, so each client thread buys for several customers in
turn (a Bearer token each) and moves to the next before the cap would refuse it.

Two servers, one at a time, the same way (``--kind``, default scripts/serve) and settings:

- app:     the project, POST /api/v1/bookings/ (services.create_hold and its serializer);
- ceiling: ``bench.ceiling_settings``: at the same path a view with the same middleware and
           authentication that runs only the hold's INSERT statements in one transaction.

Rounds alternate ceiling and app (the order flips each round); the result per client count is
the median of the per-round ratios app/ceiling of seats sold per second (target >= 0.5). Then:
an invariant sweep over every show (no live seat twice; the live rows are exactly the
(booking, seat) pairs the 201s granted; every show sold out), and pgbench's simple-update test
(``pgbench -N``) in its own scratch database as the database's own ceiling on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import random
import re
import shutil
import statistics
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import psycopg

from bench import common
from bench.common import log

DATABASE = "boxoffice_bench_holds"
PGBENCH_DATABASE = "boxoffice_bench_pgbench"
ROWS, SEATS_PER_ROW = 20, 20
SEATS = ROWS * SEATS_PER_ROW
TARGET = 0.5


def customers_per_client(clients: int, cap: int) -> int:
    """Enough customers for one client to buy far more than its share of a show."""
    return math.ceil(SEATS / clients / (cap / 2)) + 2


def setup(*, shows: int, customers: int) -> tuple[list[int], dict[int, list[int]], list[str]]:
    """``shows`` showtimes of 400 seats on as many screens and ``customers`` customers with
    access tokens. Returns (showtime ids, {showtime id: seat ids}, tokens)."""
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from boxoffice.accounts.models import User
    from boxoffice.booking import pricing
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    pricing.current_policy()  # the policy the ceiling's rows name
    theater = Theater.objects.create(name="Bench Multiplex", timezone="America/New_York")
    movie = Movie.objects.create(title="The Sell-Out", duration_minutes=110)
    starts_at = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    showtime_ids, seats = [], {}
    for number in range(shows):
        screen = Screen.objects.create(theater=theater, name=f"Screen {number + 1}")
        common.without_single_seat_rule(screen)
        grid = generate_seat_grid(
            screen=screen, rows=ROWS, seats_per_row=SEATS_PER_ROW, tiers={"premium": ["A", "B"]}
        )
        showtime = create_showtime(
            movie=movie, screen=screen, starts_at=starts_at, base_price=Decimal("10.50")
        )
        showtime_ids.append(showtime.pk)
        seats[showtime.pk] = [seat.pk for seat in grid]
    tokens = []
    for number in range(customers):
        user = User.objects.create_user(username=f"buyer{number}", email=f"buyer{number}@b.test")
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return showtime_ids, seats, tokens


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    granted: list[tuple[int, int]] = field(default_factory=list)  # (booking id, seat id)
    holds: int = 0
    failures: list[str] = field(default_factory=list)


class Show:
    """What every client knows about one show: the seats 201s granted (a live seat map)."""

    def __init__(self, showtime_id: int, seat_ids: list[int]) -> None:
        self.id = showtime_id
        self.seats = set(seat_ids)
        self.taken: set[int] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.sold_out_at: float | None = None

    def grant(self, seats: list[int]) -> None:
        with self.lock:
            self.taken.update(seats)
            if len(self.taken) >= len(self.seats) and self.sold_out_at is None:
                self.sold_out_at = time.perf_counter()
                self.stop.set()

    def candidates(self, tried: set[int]) -> list[int]:
        with self.lock:
            return sorted(self.seats - self.taken - tried)


class Client:
    """One buyer thread: its own connection, several customers' tokens used in turn."""

    def __init__(self, port: int, tokens: list[str], seed: int, cap: int) -> None:
        self.tokens = tokens
        self.cap = cap
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, token: str, body: bytes) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            self.conn.request("POST", "/api/v1/bookings/", body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        if response.will_close:  # sync workers close after each response
            self.conn.close()
        return response.status, data

    def buy(self, show: Show, tally: Tally) -> None:
        tried: set[int] = set()
        customer, holding = 0, 0
        while not show.stop.is_set():
            free = show.candidates(tried)
            if not free:
                if not tried:
                    return
                tried.clear()  # a 409 also marked seats a racing buyer did not take
                continue
            size = min(self.rng.randint(1, 4), len(free))
            if holding + size > self.cap:
                customer, holding = customer + 1, 0
                if customer >= len(self.tokens):
                    return  # this client has bought its customers' fill
            seats = self.rng.sample(free, size)
            body = json.dumps({"showtime": show.id, "seats": seats}).encode()
            started = time.perf_counter()
            try:
                status, data = self.post(self.tokens[customer], body)
            except (OSError, http.client.HTTPException) as exc:
                tally.failures.append(f"POST failed: {exc!r}")
                show.stop.set()
                return
            tally.latencies.append(time.perf_counter() - started)
            tried.update(seats)
            if status == 201:
                tally.statuses["201"] += 1
                tally.holds += 1
                holding += size
                booking = json.loads(data)["id"]
                tally.granted.extend((booking, seat) for seat in seats)
                show.grant(seats)
            elif status == 409:
                code = ""
                with contextlib.suppress(ValueError, KeyError, IndexError, TypeError):
                    code = json.loads(data)["errors"][0]["code"]
                tally.statuses["409 " + (code or "?")] += 1
                if code == "hold_limit":
                    customer, holding = customer + 1, 0
                    if customer >= len(self.tokens):
                        return
            else:
                tally.failures.append(f"{status}: {data[:300]!r}")
                show.stop.set()  # a benchmark with errors measures nothing: stop everyone
                return


def sell_out(
    port: int, show: Show, tokens: list[list[str]], seed: int, cap: int, deadline: float
) -> tuple[float, Tally]:
    tallies = [Tally() for _ in tokens]
    clients = [Client(port, mine, seed * 1000 + n, cap) for n, mine in enumerate(tokens)]
    threads = [
        threading.Thread(target=client.buy, args=(show, tally))
        for client, tally in zip(clients, tallies, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        show.stop.set()
        for thread in threads:
            thread.join()
        raise RuntimeError(f"show {show.id} not sold out within {deadline} s")
    for client in clients:
        client.conn.close()
    total = Tally()
    for tally in tallies:
        total.latencies += tally.latencies
        total.statuses.update(tally.statuses)
        total.granted += tally.granted
        total.holds += tally.holds
        total.failures += tally.failures
    if total.failures:
        raise RuntimeError(f"show {show.id}: {total.failures[:3]}")
    if show.sold_out_at is None:
        raise RuntimeError(f"show {show.id}: the clients gave up before it sold out")
    return show.sold_out_at - started, total


def verify(url: str, granted: dict[int, list[tuple[int, int]]]) -> dict:
    """The database's view: no seat live twice, live rows == what the 201s granted, per show."""
    showtime_ids = sorted(granted)
    with psycopg.connect(url) as conn:
        doubles = conn.execute(
            """
            SELECT showtime_id, seat_id, count(*) FROM booking_bookingseat
            WHERE is_live GROUP BY showtime_id, seat_id HAVING count(*) > 1
            """
        ).fetchall()
        live = conn.execute(
            "SELECT showtime_id, booking_id, seat_id FROM booking_bookingseat "
            "WHERE is_live AND showtime_id = ANY(%s)",
            [showtime_ids],
        ).fetchall()
    by_show: dict[int, set[tuple[int, int]]] = {pk: set() for pk in showtime_ids}
    for showtime_id, booking, seat in live:
        by_show[showtime_id].add((booking, seat))
    mismatched = [
        pk
        for pk in showtime_ids
        if by_show[pk] != set(granted[pk]) or len(granted[pk]) != len(set(granted[pk]))
    ]
    n_granted = sum(len(g) for g in granted.values())
    return {
        "shows": len(showtime_ids),
        "double_sales": len(doubles),
        "live_rows": len(live),
        "seats_granted_by_201s": n_granted,
        "live_rows_equal_granted": not mismatched and len(live) == n_granted,
        "shows_not_matching": mismatched,
        "all_sold_out": all(len(by_show[pk]) == SEATS for pk in showtime_ids),
    }


def pgbench(seconds: int, clients: int) -> dict:
    """pgbench -N (simple update) at scale 10 in its own scratch database."""
    if shutil.which("pgbench") is None:
        return {"skipped": "pgbench not found (apt-get install -y postgresql-client)"}
    url = common.recreate_database(PGBENCH_DATABASE)
    parts = urlsplit(url)
    conn = ["-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432)]
    conn += ["-U", parts.username or "boxoffice"]
    try:
        log("pgbench: initialising scale 10")
        subprocess.run(
            ["pgbench", *conn, "-i", "-q", "-s", "10", PGBENCH_DATABASE],
            check=True,
            capture_output=True,
        )
        log(f"pgbench: -N -c {clients} -j 2 -T {seconds}")
        run = ["-N", "-c", str(clients), "-j", "2", "-T", str(seconds), PGBENCH_DATABASE]
        out = subprocess.run(
            ["pgbench", *conn, *run], check=True, capture_output=True, text=True
        ).stdout
    finally:
        common.drop_database(PGBENCH_DATABASE)
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {
        "test": f"pgbench -N -c {clients} -j 2 -T {seconds} (scale 10)",
        "tps": round(tps, 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarise(elapsed: float, tally: Tally) -> dict:
    posts = sum(tally.statuses.values())
    return {
        "sell_out_seconds": round(elapsed, 3),
        "seats_per_s": round(len(tally.granted) / elapsed, 1),
        "holds_per_s": round(tally.holds / elapsed, 1),
        "holds": tally.holds,
        "posts": posts,
        "statuses": dict(sorted(tally.statuses.items())),
        "latency_ms": {
            "p50": round(percentile(tally.latencies, 0.50) * 1000, 1),
            "p99": round(percentile(tally.latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(tally.latencies) * 1000, 1),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="16,64", help="comma-separated client counts")
    parser.add_argument("--rounds", type=int, default=3, help="ceiling+app rounds per count")
    parser.add_argument("--kind", default="serve", choices=common.SERVER_KINDS)
    parser.add_argument("--workers", type=int, default=None, help="default: 2 x cores + 1")
    parser.add_argument("--threads", type=int, default=8, help="WEB_THREADS (or gthread's)")
    parser.add_argument("--cache", default=common.REDIS_URL, help="CACHE_URL of both servers")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--pgbench-clients", type=int, default=16)
    parser.add_argument("--show-deadline", type=float, default=120)
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    common.install_signal_handlers()
    started = time.monotonic()
    load_at_start = common.loadavg()
    counts = [int(c) for c in args.clients.split(",") if c.strip()]

    url = common.recreate_database(DATABASE)
    env = common.server_env(
        database=url,
        cache=args.cache,
        THROTTLE_ANON="1000000/minute",
        THROTTLE_USER="1000000/minute",
    )
    ceiling_env = {**env, "DJANGO_SETTINGS_MODULE": "bench.ceiling_settings"}
    runs: list[dict] = []
    granted: dict[int, list[tuple[int, int]]] = {}
    try:
        common.migrate(env)
        common.setup_django(env)
        from django.conf import settings
        from django.db import connections

        cap = settings.BOOKING_MAX_SEATS
        per_client = {c: customers_per_client(c, cap) for c in counts}
        shows_needed = args.rounds * len(counts) * 2
        pool = max(c * per_client[c] for c in counts)
        showtime_ids, seats, tokens = setup(shows=shows_needed, customers=pool)
        connections.close_all()
        log(f"{shows_needed} shows of {SEATS} seats, {pool} customers, cap {cap} seats each")
        shows = iter(showtime_ids)
        for number in range(1, args.rounds + 1):
            sides = [("ceiling", ceiling_env), ("app", env)]
            if number % 2 == 0:
                sides.reverse()
            for side, side_env in sides:
                with common.server(
                    f"holds-{side}",
                    side_env,
                    kind=args.kind,
                    workers=args.workers,
                    threads=args.threads,
                ) as srv:
                    for clients in counts:
                        showtime_id = next(shows)
                        show = Show(showtime_id, seats[showtime_id])
                        k = per_client[clients]
                        mine = [tokens[i * k : (i + 1) * k] for i in range(clients)]
                        seed = args.seed + number * 100 + clients
                        elapsed, tally = sell_out(
                            srv.port, show, mine, seed, cap, args.show_deadline
                        )
                        granted[show.id] = tally.granted
                        run = {"round": number, "side": side, "clients": clients}
                        run.update(summarise(elapsed, tally))
                        runs.append(run)
                        log(
                            f"round {number} {side:7} {clients:3} clients: sold out in "
                            f"{elapsed:.2f} s ({run['seats_per_s']:.0f} seats/s, "
                            f"{run['holds_per_s']:.0f} holds/s), p50 {run['latency_ms']['p50']}"
                            f" ms, p99 {run['latency_ms']['p99']} ms, {run['statuses']}"
                        )
        checks = verify(url, granted)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            common.drop_database(DATABASE)

    db_ceiling = pgbench(args.pgbench_seconds, args.pgbench_clients)
    by_count = []
    for clients in counts:
        ratios = []
        for number in range(1, args.rounds + 1):
            pair = {r["side"]: r for r in runs if r["round"] == number and r["clients"] == clients}
            ratios.append(round(pair["app"]["seats_per_s"] / pair["ceiling"]["seats_per_s"], 3))
        app_runs = [r for r in runs if r["side"] == "app" and r["clients"] == clients]
        ceiling_runs = [r for r in runs if r["side"] == "ceiling" and r["clients"] == clients]
        ratio = statistics.median(ratios)

        def med(rows: list[dict], key: str, sub: str | None = None) -> float:
            return statistics.median(r[key][sub] if sub else r[key] for r in rows)

        by_count.append(
            {
                "clients": clients,
                "customers": clients * per_client[clients],
                "ratios": ratios,
                "ratio_median": ratio,
                "target": TARGET,
                "meets_target": ratio >= TARGET,
                "app": {
                    "sell_out_seconds": med(app_runs, "sell_out_seconds"),
                    "seats_per_s": med(app_runs, "seats_per_s"),
                    "holds_per_s": med(app_runs, "holds_per_s"),
                    "p50_ms": med(app_runs, "latency_ms", "p50"),
                    "p99_ms": med(app_runs, "latency_ms", "p99"),
                },
                "ceiling": {
                    "sell_out_seconds": med(ceiling_runs, "sell_out_seconds"),
                    "seats_per_s": med(ceiling_runs, "seats_per_s"),
                    "holds_per_s": med(ceiling_runs, "holds_per_s"),
                    "p50_ms": med(ceiling_runs, "latency_ms", "p50"),
                    "p99_ms": med(ceiling_runs, "latency_ms", "p99"),
                },
            }
        )
    tps = db_ceiling.get("tps")
    result = {
        "machine": common.machine(),
        "setup": {
            "seats_per_show": SEATS,
            "server": common.describe_server(args.kind, args.workers, args.threads),
            "cache": args.cache,
            "rounds": args.rounds,
            "group_sizes": "1-4 random seats among those no 201 granted and not tried",
            "booking_max_seats": cap,
        },
        "by_clients": by_count,
        "runs": runs,
        "checks": checks,
        "pgbench": db_ceiling,
        "app_holds_per_pgbench_tps": {
            str(c["clients"]): round(c["app"]["holds_per_s"] / tps, 4) for c in by_count
        }
        if tps
        else None,
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "loadavg_start_end": [load_at_start, common.loadavg()],
    }
    common.save_results("holds", result)
    print()
    print(f"holds on one hot {SEATS}-seat show; target app/ceiling >= {TARGET} (seats/s)")
    for c in by_count:
        a, ce = c["app"], c["ceiling"]
        verdict = "meets" if c["meets_target"] else "BELOW"
        print(
            f"  {c['clients']:3} clients: app sells out in {a['sell_out_seconds']:.2f} s "
            f"({a['holds_per_s']:.0f} holds/s, p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms); "
            f"ceiling {ce['sell_out_seconds']:.2f} s ({ce['holds_per_s']:.0f} holds/s); "
            f"ratio {c['ratio_median']:.3f} {c['ratios']} ({verdict} target)"
        )
    print(
        f"checks: {checks['double_sales']} double sales; live rows {checks['live_rows']} == "
        f"seats granted {checks['seats_granted_by_201s']}: {checks['live_rows_equal_granted']}; "
        f"all sold out: {checks['all_sold_out']}"
    )
    if tps:
        print(f"pgbench -N: {tps:.0f} tps ({db_ceiling['latency_avg_ms']} ms average)")
    if not (
        checks["double_sales"] == 0 and checks["live_rows_equal_granted"] and checks["all_sold_out"]
    ):
        raise SystemExit(f"FAILED: {checks}")


if __name__ == "__main__":
    main()

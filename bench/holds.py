"""Hold throughput: concurrent customers selling out 400-seat shows, against pgbench's ceiling.

    .venv/bin/python -m bench.holds              # from the repository root, about 1 minute

In a scratch PostgreSQL database, ``--shows`` 400-seat showtimes are sold out one after the
other by ``--clients`` threads, each a customer of its own with a Bearer token, posting
POST /api/v1/bookings/ {showtime, seats} for 1 to 4 random seats among those it believes free
(it re-reads the seat map every few attempts and when it runs out). The server is gunicorn
(``--workers`` sync workers) with the production settings. Reported: holds/s, seats/s, p50/p99
latency of the POSTs, the 409 rate; then the database is checked: no (showtime, seat) with two
live rows, and the live rows are exactly the seats the 201 answers granted.

pgbench's simple-update test (``pgbench -N``, 16 clients, scale 10, its own scratch database)
runs in the same invocation as the database's own ceiling on this machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
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
REFRESH_EVERY = 8  # attempts between two seat-map reads of one client
SHOW_DEADLINE_SECONDS = 60


def setup(*, shows: int, clients: int) -> tuple[list[int], list[str]]:
    """``shows`` showtimes of 400 seats on as many screens, ``clients`` customers with access
    tokens. Returns (showtime ids, tokens)."""
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from boxoffice.accounts.models import User
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    theater = Theater.objects.create(name="Bench Multiplex", timezone="America/New_York")
    movie = Movie.objects.create(title="The Sell-Out", duration_minutes=110)
    starts_at = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    showtime_ids = []
    for number in range(shows):
        screen = Screen.objects.create(theater=theater, name=f"Screen {number + 1}")
        generate_seat_grid(
            screen=screen, rows=ROWS, seats_per_row=SEATS_PER_ROW, tiers={"premium": ["A", "B"]}
        )
        showtime = create_showtime(
            movie=movie, screen=screen, starts_at=starts_at, base_price=Decimal("10.50")
        )
        showtime_ids.append(showtime.pk)
    tokens = []
    for number in range(clients):
        user = User.objects.create_user(username=f"buyer{number}", email=f"buyer{number}@b.test")
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return showtime_ids, tokens


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    granted: list[tuple[int, int]] = field(default_factory=list)  # (booking id, seat id)
    holds: int = 0
    seat_map_reads: int = 0
    failures: list[str] = field(default_factory=list)


class Client:
    """One customer: its own connection, token and belief about which seats are free."""

    def __init__(self, port: int, token: str, seed: int, stop: threading.Event) -> None:
        self.stop = stop
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(seed)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:  # gunicorn's sync workers close after each response
                    self.conn.close()
                return response.status, data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                if attempt == 2 or body is not None:  # never resend a POST: it may have acted
                    raise
        raise AssertionError("unreachable")

    def free_seats(self, showtime_id: int, tally: Tally) -> set[int]:
        status, data = self.request("GET", f"/api/v1/showtimes/{showtime_id}/seats/")
        tally.seat_map_reads += 1
        if status != 200:
            raise RuntimeError(f"seat map answered {status}")
        return {seat["id"] for seat in json.loads(data)["seats"] if seat["status"] == "available"}

    def buy_until_sold_out(self, showtime_id: int, tally: Tally) -> None:
        free = self.free_seats(showtime_id, tally)
        attempts = 0
        while not self.stop.is_set():
            if not free or attempts % REFRESH_EVERY == REFRESH_EVERY - 1:
                free = self.free_seats(showtime_id, tally)
                if not free:
                    return
            attempts += 1
            seats = self.rng.sample(sorted(free), min(self.rng.randint(1, 4), len(free)))
            body = json.dumps({"showtime": showtime_id, "seats": seats}).encode()
            started = time.perf_counter()
            try:
                status, data = self.request("POST", "/api/v1/bookings/", body)
            except (OSError, http.client.HTTPException) as exc:
                tally.failures.append(f"POST failed: {exc!r}")
                self.stop.set()
                return
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1
            free.difference_update(seats)  # ours now, or someone else's: not free either way
            if status == 201:
                tally.holds += 1
                booking = json.loads(data)["id"]
                tally.granted.extend((booking, seat) for seat in seats)
            elif status != 409:
                tally.failures.append(f"{status}: {data[:300]!r}")
                self.stop.set()  # a benchmark with errors measures nothing: stop everyone
                return


def sell_out(port: int, showtime_id: int, tokens: list[str], seed: int) -> tuple[float, Tally]:
    tallies = [Tally() for _ in tokens]
    stop = threading.Event()
    clients = [Client(port, token, seed * 1000 + n, stop) for n, token in enumerate(tokens)]
    threads = [
        threading.Thread(target=client.buy_until_sold_out, args=(showtime_id, tally))
        for client, tally in zip(clients, tallies, strict=True)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + SHOW_DEADLINE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        stop.set()
        for thread in threads:
            thread.join()
        raise RuntimeError(f"show {showtime_id} not sold out within {SHOW_DEADLINE_SECONDS} s")
    elapsed = time.perf_counter() - started
    total = Tally()
    for tally in tallies:
        total.latencies += tally.latencies
        total.statuses.update(tally.statuses)
        total.granted += tally.granted
        total.holds += tally.holds
        total.seat_map_reads += tally.seat_map_reads
        total.failures += tally.failures
    return elapsed, total


def verify(url: str, showtime_ids: list[int], granted: list[tuple[int, int]]) -> dict:
    """The database's view: no seat live twice, live rows == what the 201s granted."""
    with psycopg.connect(url) as conn:
        doubles = conn.execute(
            """
            SELECT showtime_id, seat_id, count(*) FROM booking_bookingseat
            WHERE is_live GROUP BY showtime_id, seat_id HAVING count(*) > 1
            """
        ).fetchall()
        live = conn.execute(
            "SELECT booking_id, seat_id FROM booking_bookingseat "
            "WHERE is_live AND showtime_id = ANY(%s)",
            [showtime_ids],
        ).fetchall()
    live_set, granted_set = set(live), set(granted)
    return {
        "double_sales": len(doubles),
        "live_rows": len(live),
        "seats_granted_by_201s": len(granted),
        "live_rows_equal_granted": live_set == granted_set and len(live) == len(granted),
        "seats_per_show": ROWS * SEATS_PER_ROW,
        "all_sold_out": len(live) == ROWS * SEATS_PER_ROW * len(showtime_ids),
    }


def pgbench(seconds: int, clients: int) -> dict:
    """pgbench -N (simple update) at scale 10 in its own scratch database."""
    if shutil.which("pgbench") is None:
        return {"skipped": "pgbench not found (apt-get install -y postgresql-client)"}
    url = common.recreate_database(PGBENCH_DATABASE)
    parts = urlsplit(url)
    conn = [
        "-h",
        parts.hostname,
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "boxoffice",
    ]
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
            ["pgbench", *conn, *run],
            check=True,
            capture_output=True,
            text=True,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--shows", type=int, default=8, help="400-seat shows sold out in turn")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    common.install_signal_handlers()
    started = time.monotonic()
    load_at_start = common.loadavg()

    url = common.recreate_database(DATABASE)
    env = common.server_env(
        database=url,
        cache=common.REDIS_URL if _has_redis() else "db://",
        THROTTLE_ANON="1000000/minute",
        THROTTLE_USER="1000000/minute",
    )
    try:
        common.migrate(env)
        common.setup_django(env)
        showtime_ids, tokens = setup(shows=args.shows, clients=args.clients)
        from django.db import connections

        connections.close_all()
        log(f"{args.shows} shows of {ROWS * SEATS_PER_ROW} seats, {args.clients} customers")
        rounds = []
        total = Tally()
        busy = 0.0
        with (
            common.localstripe() as stripe_env,
            common.gunicorn("holds", {**env, **stripe_env}, workers=args.workers) as server,
        ):
            for number, showtime_id in enumerate(showtime_ids, 1):
                elapsed, tally = sell_out(server.port, showtime_id, tokens, args.seed + number)
                busy += elapsed
                total.latencies += tally.latencies
                total.statuses.update(tally.statuses)
                total.granted += tally.granted
                total.holds += tally.holds
                total.seat_map_reads += tally.seat_map_reads
                total.failures += tally.failures
                if tally.failures:
                    raise RuntimeError(f"show {number}: {tally.failures[:3]}")
                posts = sum(tally.statuses.values())
                rounds.append(
                    {
                        "seconds": round(elapsed, 2),
                        "holds_per_s": round(tally.holds / elapsed, 1),
                        "posts": posts,
                        "rate_409": round(tally.statuses[409] / posts, 3),
                    }
                )
                log(
                    f"show {number}: sold out in {elapsed:.2f} s, {tally.holds} holds "
                    f"({tally.holds / elapsed:.0f}/s), {tally.statuses[409]} x 409 of {posts}"
                )
        checks = verify(url, showtime_ids, total.granted)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            common.drop_database(DATABASE)

    db_ceiling = pgbench(args.pgbench_seconds, 16)
    posts = sum(total.statuses.values())
    holds_per_s = total.holds / busy
    result = {
        "machine": common.machine(),
        "setup": {
            "shows": args.shows,
            "seats_per_show": ROWS * SEATS_PER_ROW,
            "clients": args.clients,
            "gunicorn": f"--workers {args.workers} --threads 1 (sync)",
            "cache": env["CACHE_URL"],
            "group_sizes": "1-4 random seats among those the client believes free",
        },
        "holds": total.holds,
        "seconds": round(busy, 2),
        "holds_per_s": round(holds_per_s, 1),
        "seats_per_s": round(len(total.granted) / busy, 1),
        "posts": posts,
        "latency_ms": {
            "p50": round(percentile(total.latencies, 0.50) * 1000, 1),
            "p99": round(percentile(total.latencies, 0.99) * 1000, 1),
            "mean": round(statistics.fmean(total.latencies) * 1000, 1),
        },
        "rate_409": round(total.statuses[409] / posts, 3),
        "statuses": {str(k): v for k, v in sorted(total.statuses.items())},
        "seat_map_reads": total.seat_map_reads,
        "failures": total.failures[:10],
        "shows": rounds,
        "checks": checks,
        "pgbench": db_ceiling,
        "holds_per_pgbench_tps": (
            round(holds_per_s / db_ceiling["tps"], 3) if "tps" in db_ceiling else None
        ),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "loadavg_start_end": [load_at_start, common.loadavg()],
    }
    common.save_results("holds", result)
    print()
    print(
        f"holds: {total.holds} in {busy:.1f} s = {holds_per_s:.0f} holds/s "
        f"({result['seats_per_s']:.0f} seats/s); p50 {result['latency_ms']['p50']} ms, "
        f"p99 {result['latency_ms']['p99']} ms; 409 rate {result['rate_409']:.1%} of {posts}"
    )
    print(
        f"checks: {checks['double_sales']} double sales; live rows {checks['live_rows']} == "
        f"seats granted {checks['seats_granted_by_201s']}: {checks['live_rows_equal_granted']}; "
        f"all sold out: {checks['all_sold_out']}"
    )
    if "tps" in db_ceiling:
        print(
            f"pgbench -N: {db_ceiling['tps']:.0f} tps; holds/s per pgbench tps: "
            f"{result['holds_per_pgbench_tps']}"
        )
    ok = (
        not total.failures
        and checks["double_sales"] == 0
        and checks["live_rows_equal_granted"]
        and checks["all_sold_out"]
    )
    if not ok:
        raise SystemExit(f"FAILED: {total.failures[:5]} {checks}")


def _has_redis() -> bool:
    import importlib.util

    return importlib.util.find_spec("redis") is not None


if __name__ == "__main__":
    main()

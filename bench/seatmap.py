"""Seat-map throughput against its ceiling, under gunicorn, on one machine.

    .venv/bin/python -m bench.seatmap            # from the repository root, about 2.5 minutes

Sets up a 400-seat showtime with 200 seats held (through the booking services) in a scratch
PostgreSQL database, then for each cache configuration (Redis, then the database cache) starts
two gunicorns with identical flags and settings:

- app:     the project (``config.wsgi``), serving GET /api/v1/showtimes/{id}/seats/;
- ceiling: the same settings with ROOT_URLCONF = ``bench.ceiling``, a view that returns the same
           bytes the real endpoint returned, through the same middleware stack.

Load alternates ceiling, app, ceiling, app, ... (``--rounds`` of ``--seconds`` each) and the
result is the median of the per-round ratios app/ceiling (target >= 0.6).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import random
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from bench import common
from bench.common import log

DATABASE = "boxoffice_bench"
# app/ceiling goals: with Redis, and with the zero-install default (the database cache)
TARGETS = {"redis": 0.8, "default": 0.5}
ROWS, SEATS_PER_ROW, HELD = 20, 20, 200


def setup_showtime(seed: int) -> int:
    """A 20 x 20 screen, one evening show, 200 random seats held by customers in groups of
    1 to 10 seats, all through the services. Returns the showtime id."""
    from django.utils import timezone

    from boxoffice.accounts.models import User
    from boxoffice.booking.services import create_hold
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    rng = random.Random(seed)
    theater = Theater.objects.create(name="Bench Palace", timezone="Europe/Berlin")
    screen = Screen.objects.create(theater=theater, name="Screen 1")
    common.without_single_seat_rule(screen)
    seats = generate_seat_grid(
        screen=screen,
        rows=ROWS,
        seats_per_row=SEATS_PER_ROW,
        tiers={"vip": ["A", "B"], "premium": ["C", "D", "E"]},
    )
    movie = Movie.objects.create(title="The Benchmark", duration_minutes=120)
    starts_at = (timezone.now() + timedelta(days=1)).replace(hour=18, minute=0, second=0)
    showtime = create_showtime(
        movie=movie, screen=screen, starts_at=starts_at, base_price=Decimal("12.00")
    )
    users = [
        User.objects.create_user(username=f"holder{i}", email=f"holder{i}@bench.test")
        for i in range(HELD)
    ]
    held = dict.fromkeys(range(len(users)), 0)  # seats per customer: BOOKING_MAX_SEATS caps it
    chosen = rng.sample([seat.pk for seat in seats], HELD)
    index = 0
    while chosen:
        size = min(rng.randint(1, 10), len(chosen))
        group, chosen = chosen[:size], chosen[size:]
        user = next(u for u, n in held.items() if n + size <= 10)
        create_hold(user=users[user], showtime=showtime, seat_ids=group)
        held[user] += size
        index += 1
    log(f"showtime {showtime.pk}: {len(seats)} seats, {HELD} held in {index} holds")
    return showtime.pk


def measure(
    label: str,
    env: dict[str, str],
    path: str,
    args: argparse.Namespace,
    expected: bytes | None,
) -> tuple[dict[str, object], bytes]:
    """For one cache configuration: the ceiling under scripts/serve, the app under scripts/serve
    and under each of ``--also`` (gunicorn gthread, sync), all up at once with the same worker
    count; rounds of load visit them in turn."""
    kinds = [k for k in args.also.split(",") if k.strip()]
    log(f"[{label}] starting the app under serve, {', '.join(kinds)} and the ceiling")
    with contextlib.ExitStack() as stack:
        app = stack.enter_context(
            common.server(f"app-serve-{label}", env, workers=args.workers, threads=args.threads)
        )
        status, body = common.http_get(app.base + path)
        if status != 200:
            raise RuntimeError(f"seat map answered {status}: {body[:300]!r}")
        if expected is not None and body != expected:
            raise RuntimeError(f"[{label}] the seat map differs from the first configuration's")
        body_file = Path(tempfile.gettempdir()) / f"boxoffice-bench-seatmap-{app.port}.json"
        body_file.write_bytes(body)
        stack.callback(body_file.unlink, missing_ok=True)
        ceiling_env = {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.ceiling_settings",
            "BENCH_CEILING_BODY": str(body_file),
        }
        ceiling = stack.enter_context(
            common.server(
                f"ceiling-{label}",
                ceiling_env,
                workers=args.workers,
                threads=args.threads,
                ready_path=path,
            )
        )
        status, ceiling_body = common.http_get(ceiling.base + path)
        if status != 200 or ceiling_body != body:
            raise RuntimeError("the ceiling does not return the seat map's bytes")
        servers = {"ceiling": ceiling, "app": app}
        for kind in kinds:
            servers[f"app_{kind}"] = stack.enter_context(
                common.server(
                    f"app-{kind}-{label}",
                    env,
                    kind=kind,
                    workers=args.workers,
                    threads=args.threads,
                )
            )
        for server in servers.values():  # warm-up: imports, connections, cache
            common.load(server.base + path, seconds=args.warmup, connections=args.connections)
        log(f"[{label}] warmed up {', '.join(servers)}")
        rounds = []
        for number in range(1, args.rounds + 1):
            result: dict[str, float] = {}
            for name, server in servers.items():
                run = common.load(
                    server.base + path, seconds=args.seconds, connections=args.connections
                )
                if not run.ok:
                    raise RuntimeError(f"[{label}] {name}: bad responses {run}")
                result[name] = round(run.rps, 1)
            result["ratio"] = round(result["app"] / result["ceiling"], 3)
            for kind in kinds:
                result[f"serve_per_{kind}"] = round(result["app"] / result[f"app_{kind}"], 3)
            rounds.append(result)
            log(
                f"[{label}] round {number}: "
                + ", ".join(f"{k} {v:.0f}" for k, v in result.items() if k in servers)
                + f" req/s; ratio {result['ratio']:.3f}"
            )
    ratio = statistics.median(r["ratio"] for r in rounds)
    target = TARGETS["redis" if label.startswith("redis") else "default"]
    summary: dict[str, object] = {
        "cache": env["CACHE_URL"],
        "rounds": rounds,
        **{f"{name}_rps_median": statistics.median(r[name] for r in rounds) for name in servers},
        "ratio_median": ratio,
        "target": target,
        "meets_target": ratio >= target,
        **{
            f"serve_per_{kind}_median": statistics.median(r[f"serve_per_{kind}"] for r in rounds)
            for kind in kinds
        },
    }
    return summary, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="per server (WEB_CONCURRENCY)")
    parser.add_argument("--threads", type=int, default=8, help="WEB_THREADS / gthread threads")
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument(
        "--also",
        default="gthread,sync",
        help="other ways to serve the app measured beside scripts/serve (gthread, sync)",
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--caches",
        default="redis://127.0.0.1:6379/11,db://",
        help="comma-separated CACHE_URLs to measure (default: Redis, then the database cache)",
    )
    parser.add_argument(
        "--one-client",
        action="store_true",
        help="all load from one address (no X-Forwarded-For): one huge anonymous throttle history",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    common.install_signal_handlers()
    if not common.have_wrk():
        log("wrk not found (install: apt-get install -y wrk); using the Python client instead")

    started = time.monotonic()
    load_at_start = common.loadavg()
    caches = [c.strip() for c in args.caches.split(",") if c.strip()]
    skipped = []
    if any(c.startswith("redis") for c in caches) and importlib.util.find_spec("redis") is None:
        log(
            "the redis package (redis-py) is not installed, and requirements.lock does not list "
            "it: skipping CACHE_URL=redis://... (install it, or put a directory holding it on "
            "PYTHONPATH, to measure Redis)"
        )
        skipped = [c for c in caches if c.startswith("redis")]
        caches = [c for c in caches if not c.startswith("redis")]
    url = common.recreate_database(DATABASE)
    extra = {
        "THROTTLE_ANON": "1000000/minute",
        "THROTTLE_USER": "1000000/minute",
        "NUM_PROXIES": "0" if args.one_client else "1",
    }
    try:
        env = common.server_env(database=url, cache=caches[0], **extra)
        common.migrate(env)
        common.setup_django(env)
        showtime_id = setup_showtime(args.seed)
        from django.db import connections

        connections.close_all()
        path = f"/api/v1/showtimes/{showtime_id}/seats/"
        configs = []
        body = None
        for cache in caches:
            label = cache.split(":", 1)[0]
            env = common.server_env(database=url, cache=cache, **extra)
            summary, body = measure(label, env, path, args, body)
            configs.append(summary)
    finally:
        if not args.keep_db:
            common.drop_database(DATABASE)

    result = {
        "machine": common.machine(),
        "setup": {
            "seats": ROWS * SEATS_PER_ROW,
            "held": HELD,
            "body_bytes": len(body),
            "server": common.describe_server("serve", args.workers, args.threads),
            "also": [
                common.describe_server(k, args.workers, args.threads)
                for k in args.also.split(",")
                if k
            ],
            "load": f"wrk, {args.connections} connections, {args.rounds} rounds x "
            f"{args.seconds:g} s per server, servers visited in turn",
            "clients": "one address"
            if args.one_client
            else "many (X-Forwarded-For, NUM_PROXIES=1)",
        },
        "configs": configs,
        "skipped": [{"cache": c, "why": "redis package not installed"} for c in skipped],
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "loadavg_start_end": [load_at_start, common.loadavg()],
    }
    common.save_results("seatmap" + ("_one_client" if args.one_client else ""), result)
    print()
    print(f"seat map, 400 seats / 200 held, {len(body)} bytes; median req/s of the rounds")
    for config in configs:
        verdict = "meets" if config["meets_target"] else "BELOW"
        others = "  ".join(
            f"{k.removesuffix('_rps_median')} {v:.0f}"
            for k, v in config.items()
            if k.startswith("app_") and k.endswith("_rps_median") and k != "app_rps_median"
        )
        print(
            f"  CACHE_URL={config['cache']:<28} ceiling {config['ceiling_rps_median']:6.0f}  "
            f"app(serve) {config['app_rps_median']:6.0f}  {others}  "
            f"ratio {config['ratio_median']:.3f} (target {config['target']}: {verdict})"
        )


if __name__ == "__main__":
    main()

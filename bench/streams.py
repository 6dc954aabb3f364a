"""1,000 open live seat maps: how fast a change reaches them, and what they cost the seat map.

    .venv/bin/python -m bench.streams             # from the repository root, about 2 minutes

One 400-seat show in a scratch PostgreSQL database, served by scripts/serve (uvicorn workers,
the live seat map as coroutines; the transport between processes is PostgreSQL LISTEN/NOTIFY
with the default database cache, Redis pub/sub with ``--cache redis://...``). This process:

1. measures the seat map's throughput (wrk, GET .../seats/) with no stream open;
2. opens ``--streams`` streams (GET .../seats/events/, one asyncio task and one socket each,
   in batches) and waits for every snapshot;
3. measures the seat map's throughput again with them open (and idle);
4. makes ``--holds`` holds (POST /api/v1/bookings/, one customer each, ``--interval`` apart)
   and records, for each hold and each stream, the time from the hold's 201 arriving here to
   the stream receiving the ``seats`` event naming its seats (negative when the event came
   first: the change is published on commit, before the response is written);
5. closes the streams and measures the throughput once more.

Goal: p99 delivery < 1 s. The client runs on the same 2 cores as the server: its own time to
read 1,000 sockets is inside every figure. The file-descriptor limit (``ulimit -n``) of this
process and of the server it starts is raised to the hard limit; both are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import resource
import statistics
import threading
import time
from datetime import timedelta
from decimal import Decimal

from bench import common
from bench.common import log

DATABASE = "boxoffice_bench_streams"
TARGET_P99_SECONDS = 1.0


def setup(customers: int) -> tuple[int, list[int], list[str]]:
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import RefreshToken

    from boxoffice.accounts.models import User
    from boxoffice.catalog.models import Movie, Screen, Theater
    from boxoffice.catalog.services import generate_seat_grid
    from boxoffice.schedule.services import create_showtime

    theater = Theater.objects.create(name="Bench Live", timezone="Europe/Paris")
    screen = Screen.objects.create(theater=theater, name="Screen 1")
    common.without_single_seat_rule(screen)
    grid = generate_seat_grid(screen=screen, rows=20, seats_per_row=20, tiers={"vip": ["A"]})
    movie = Movie.objects.create(title="Live!", duration_minutes=100)
    starts_at = (timezone.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    showtime = create_showtime(
        movie=movie, screen=screen, starts_at=starts_at, base_price=Decimal("9.00")
    )
    tokens = []
    for n in range(customers):
        user = User.objects.create_user(username=f"watcher{n}", email=f"w{n}@b.test")
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return showtime.pk, [seat.pk for seat in grid], tokens


class Streams:
    """``count`` SSE clients on an asyncio loop in a thread of their own."""

    def __init__(self, port: int, path: str, count: int, batch: int) -> None:
        self.port, self.path, self.count, self.batch = port, path, count, batch
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.received: list[dict[int, float]] = [{} for _ in range(count)]  # seat -> first held
        self.snapshots = 0
        self.errors: list[str] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: list[asyncio.Task] = []

    async def _one(self, index: int, ready: asyncio.Event) -> None:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port, limit=1 << 20)
            self.writers.append(writer)
            writer.write(
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Accept: text/event-stream\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            if status != 200:
                raise RuntimeError(f"stream answered {status}: {head[:200]!r}")
            chunked = b"transfer-encoding: chunked" in head.lower()
            buffer = b""
            mine = self.received[index]
            while True:
                if chunked:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    if size == 0:
                        return
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        return
                buffer += data
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    now = time.perf_counter()
                    kind, payload = "", b""
                    for line in event.split(b"\n"):
                        if line.startswith(b"event: "):
                            kind = line[7:].decode()
                        elif line.startswith(b"data: "):
                            payload = line[6:]
                    if kind == "snapshot":
                        self.snapshots += 1
                        ready.set()
                    elif kind == "seats":
                        for seat in json.loads(payload):
                            if seat["status"] == "held" and seat["id"] not in mine:
                                mine[seat["id"]] = now
        except (OSError, asyncio.IncompleteReadError, RuntimeError, ValueError) as exc:
            if not isinstance(exc, asyncio.IncompleteReadError) or not self.closing:
                self.errors.append(f"stream {index}: {exc!r}")
            ready.set()

    async def _open(self) -> None:
        for start in range(0, self.count, self.batch):
            events = []
            for index in range(start, min(self.count, start + self.batch)):
                ready = asyncio.Event()
                events.append(ready)
                self.tasks.append(asyncio.create_task(self._one(index, ready)))
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), timeout=120)

    closing = False

    def open(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self.loop).result()

    def close(self) -> None:
        self.closing = True

        async def shut() -> None:
            for writer in self.writers:
                writer.close()
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def hold(port: int, token: str, showtime_id: int, seats: list[int]) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"showtime": showtime_id, "seats": seats})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn.request("POST", "/api/v1/bookings/", body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    answered = time.perf_counter()
    conn.close()
    if response.status != 201:
        raise RuntimeError(f"hold answered {response.status}: {data[:300]!r}")
    return answered


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def raise_fd_limit(needed: int) -> dict[str, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise SystemExit(
            f"ulimit -n is {soft} (hard {hard}); {needed} needed: raise the hard limit"
        )
    return {"soft_before": soft, "hard": hard, "soft_used": soft}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--holds", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between holds")
    parser.add_argument("--seconds", type=float, default=8, help="each throughput measurement")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50, help="streams opened at once")
    parser.add_argument("--workers", type=int, default=None, help="default: 2 x cores + 1")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--cache", default="db://", help="CACHE_URL (db:// -> LISTEN/NOTIFY)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    common.install_signal_handlers()
    started = time.monotonic()
    load_at_start = common.loadavg()
    soft_before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limits = raise_fd_limit(args.streams * 2 + 200)  # the client's sockets and the server's
    limits["soft_before"] = soft_before
    log(f"ulimit -n: {soft_before} -> {limits['soft_used']} (hard {limits['hard']})")

    url = common.recreate_database(DATABASE)
    env = common.server_env(
        database=url,
        cache=args.cache,
        THROTTLE_ANON="1000000/minute",
        THROTTLE_USER="1000000/minute",
        # every stream comes from this one address
        LIVE_MAX_STREAMS_PER_CLIENT=str(args.streams + 100),
        NUM_PROXIES="1",
    )
    try:
        common.migrate(env)
        common.setup_django(env)
        showtime_id, seat_ids, tokens = setup(args.holds)
        from django.db import connections

        connections.close_all()
        seat_path = f"/api/v1/showtimes/{showtime_id}/seats/"
        events_path = f"/api/v1/showtimes/{showtime_id}/seats/events/"
        throughput: dict[str, list[float]] = {"without": [], "with": []}
        with common.server(
            "streams", env, workers=args.workers, threads=args.threads, ready_path=seat_path
        ) as srv:

            def rate(label: str) -> None:
                run = common.load(
                    srv.base + seat_path, seconds=args.seconds, connections=args.connections
                )
                if not run.ok:
                    raise RuntimeError(f"seat map: bad responses {run}")
                throughput[label].append(round(run.rps, 1))
                log(f"seat map {label} streams: {run.rps:.0f} req/s")

            common.load(srv.base + seat_path, seconds=2, connections=args.connections)
            rate("without")
            streams = Streams(srv.port, events_path, args.streams, args.batch)
            opening = time.monotonic()
            streams.open()
            opened = time.monotonic() - opening
            log(f"{streams.snapshots} streams open with a snapshot in {opened:.1f} s")
            if streams.errors:
                raise RuntimeError(f"streams failed: {streams.errors[:3]}")
            rate("with")
            answered: list[tuple[list[int], float]] = []
            for n in range(args.holds):
                seats = seat_ids[n * 2 : n * 2 + 2]
                answered.append((seats, hold(srv.port, tokens[n], showtime_id, seats)))
                time.sleep(args.interval)
            time.sleep(3)  # the last events in flight
            rate("with")
            streams.close()
            if streams.errors:
                raise RuntimeError(f"streams failed: {streams.errors[:3]}")
            rate("without")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            common.drop_database(DATABASE)

    delays, missing = [], 0
    for seats, at in answered:
        for mine in streams.received:
            times = [mine[s] for s in seats if s in mine]
            if len(times) < len(seats):
                missing += 1
                continue
            delays.append(max(times) - at)
    without = statistics.median(throughput["without"])
    with_streams = statistics.median(throughput["with"])
    p99 = percentile(delays, 0.99) if delays else float("inf")
    result = {
        "machine": common.machine(),
        "setup": {
            "server": common.describe_server("serve", args.workers, args.threads),
            "cache": args.cache,
            "transport": "redis" if args.cache.startswith("redis") else "postgres",
            "streams": args.streams,
            "holds": args.holds,
            "interval_s": args.interval,
            "ulimit_n": limits,
        },
        "streams_open_seconds": round(opened, 1),
        "deliveries": len(delays),
        "missing_deliveries": missing,
        "delivery_ms": {
            "p50": round(percentile(delays, 0.5) * 1000, 1) if delays else None,
            "p99": round(p99 * 1000, 1) if delays else None,
            "max": round(max(delays) * 1000, 1) if delays else None,
            "min": round(min(delays) * 1000, 1) if delays else None,
        },
        "target_p99_ms": TARGET_P99_SECONDS * 1000,
        "meets_target": missing == 0 and p99 < TARGET_P99_SECONDS,
        "seatmap_rps": throughput,
        "seatmap_rps_with_per_without": round(with_streams / without, 3),
        "elapsed_seconds": round(time.monotonic() - started, 1),
        "loadavg_start_end": [load_at_start, common.loadavg()],
    }
    common.save_results("streams", result)
    d = result["delivery_ms"]
    print()
    print(
        f"{args.streams} streams, {args.holds} holds: {len(delays)} deliveries, {missing} "
        f"missing; p50 {d['p50']} ms, p99 {d['p99']} ms, max {d['max']} ms "
        f"(target p99 < {TARGET_P99_SECONDS * 1000:.0f} ms: "
        f"{'meets' if result['meets_target'] else 'NOT MET'})"
    )
    print(
        f"seat map: {without:.0f} req/s without streams, {with_streams:.0f} with "
        f"({result['seatmap_rps_with_per_without']:.2f})"
    )


if __name__ == "__main__":
    main()

"""The invariant sweep: what must hold over all bookings once the work a test started is done.

Money (docs/api.md, "The money invariant"): what a booking holds, ``paid_amount + credit -
refunded_amount`` (its credit once its exchange completed), is the price of its live seats when
confirmed (seats cancelled on their own were refunded), the credit it handed on when exchanged,
and nothing otherwise (``refunded_amount == paid_amount`` for a booking that never used a
credit); over an exchange chain, money captured less money refunded is the live total of its
confirmed booking; a pending or confirmed
booking's ``total`` is the price of the seats it has not cancelled.
Seats: no seat is live twice for one show; every seat row of a confirmed booking is live and
paid (no hold expiry) unless it was cancelled on its own (``cancelled_at``), and a confirmed
booking has at least one live seat; a cancelled or expired booking has no live row; a cancelled
show has no pending or confirmed booking left (its sweep ended them all); a confirmed booking
has a ticket per seat it has not cancelled; a waitlist entry's offers hold at most its party's
seats.

Each check is one SQL query, written once here, so that the in-process tests (through Django's
connection) and the resilience tests (raw SQL against their own cluster, see
``tests/resilience/stack.py``'s ``Stack.invariant_breaches``) ask exactly the same questions.
The money query is the SQL twin of ``Booking.objects.breaking_money_invariant()``; :func:`assert_money_invariant` asks the ORM method itself.

Refunds are made by the worker, so a sweep first runs the queued tasks to completion (as
``manage.py worker`` would): a refund that is owed but still queued is not a breach, one that
the worker could not make is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tests.support.stripe import localstripe_list
from tests.support.tasks import run_worker

Query = Callable[[str, tuple], list[tuple]]

# Every query returns rows describing a breach; each takes one parameter: an array of booking
# ids to restrict it to, or NULL for all bookings.
_ONLY = "(%s::bigint[] IS NULL OR b.id = ANY(%s::bigint[]))"

# The price of a booking's live seats, and of the seats it has not cancelled (``b`` in scope).
_LIVE_TOTAL = """(SELECT COALESCE(sum(s.price), 0) FROM booking_bookingseat s
                  WHERE s.booking_id = b.id AND s.is_live)"""
_KEPT_TOTAL = """(SELECT COALESCE(sum(s.price), 0) FROM booking_bookingseat s
                  WHERE s.booking_id = b.id AND s.cancelled_at IS NULL)"""

# What a booking holds: paid, plus an exchange's credit once the exchange completed, less
# refunded; and the credit an exchanged booking handed on.
_HOLDS = """(b.paid_amount - b.refunded_amount
             + CASE WHEN b.confirmed_at IS NOT NULL THEN b.credit ELSE 0 END)"""
_PASSED_ON = """(SELECT COALESCE(sum(n.credit), 0) FROM booking_booking n
                 WHERE n.exchange_of_id = b.id AND n.confirmed_at IS NOT NULL)"""

CHECKS: dict[str, str] = {
    # A confirmed booking keeps exactly the price of its live seats (paid plus credit less
    # refunded); any other booking keeps nothing.
    "money": f"""
        SELECT b.id, b.status, b.total, b.paid_amount, b.credit, b.refunded_amount,
               {_LIVE_TOTAL} AS live_total, {_PASSED_ON} AS passed_on
        FROM booking_booking b
        WHERE {_ONLY} AND {_HOLDS} <> CASE b.status
            WHEN 'confirmed' THEN {_LIVE_TOTAL}
            WHEN 'exchanged' THEN {_PASSED_ON}
            ELSE 0 END
        ORDER BY b.id""",
    # Over an exchange chain (a booking, the one it was exchanged for, and so on), the money
    # captured less the money refunded is the live total of the chain's confirmed booking.
    "exchange chain": f"""
        WITH RECURSIVE chain(root, id) AS (
            SELECT b.id, b.id FROM booking_booking b
            WHERE b.exchange_of_id IS NULL
              AND EXISTS (SELECT 1 FROM booking_booking n WHERE n.exchange_of_id = b.id)
          UNION ALL
            SELECT c.root, n.id FROM booking_booking n JOIN chain c ON n.exchange_of_id = c.id
        )
        SELECT c.root, sum(b.paid_amount - b.refunded_amount) AS kept,
               sum(CASE WHEN b.status = 'confirmed' THEN {_LIVE_TOTAL} ELSE 0 END) AS live
        FROM chain c JOIN booking_booking b ON b.id = c.id
        GROUP BY c.root
        HAVING sum(b.paid_amount - b.refunded_amount)
               <> sum(CASE WHEN b.status = 'confirmed' THEN {_LIVE_TOTAL} ELSE 0 END)
           AND bool_or({_ONLY})
        ORDER BY c.root""",
    # What a running or sold booking costs is the price of the seats it has not cancelled.
    "total not its seats": f"""
        SELECT b.id, b.status, b.total, {_KEPT_TOTAL} AS kept
        FROM booking_booking b
        WHERE {_ONLY} AND b.status IN ('pending', 'confirmed') AND b.total <> {_KEPT_TOTAL}
        ORDER BY b.id""",
    "seat live twice": """
        SELECT s.showtime_id, s.seat_id, count(*)
        FROM booking_bookingseat s JOIN booking_booking b ON b.id = s.booking_id
        WHERE s.is_live
        GROUP BY s.showtime_id, s.seat_id
        HAVING count(*) > 1 AND bool_or(%s::bigint[] IS NULL OR b.id = ANY(%s::bigint[]))""",
    # A seat cancelled on its own (cancelled_at) is free; every other seat of a confirmed
    # booking is live and paid.
    "confirmed seat not live": f"""
        SELECT b.id, s.seat_id, s.is_live, s.hold_expires_at, s.cancelled_at
        FROM booking_booking b JOIN booking_bookingseat s ON s.booking_id = b.id
        WHERE {_ONLY} AND b.status = 'confirmed' AND (
            (s.cancelled_at IS NULL AND (NOT s.is_live OR s.hold_expires_at IS NOT NULL))
            OR (s.cancelled_at IS NOT NULL AND s.is_live)
        )
        ORDER BY b.id, s.seat_id""",
    "confirmed without a live seat": f"""
        SELECT b.id
        FROM booking_booking b
        WHERE {_ONLY} AND b.status = 'confirmed' AND NOT EXISTS (
            SELECT 1 FROM booking_bookingseat s WHERE s.booking_id = b.id AND s.is_live)
        ORDER BY b.id""",
    "ended booking holds seats": f"""
        SELECT b.id, b.status, s.seat_id
        FROM booking_booking b JOIN booking_bookingseat s ON s.booking_id = b.id
        WHERE {_ONLY} AND b.status IN ('cancelled', 'expired', 'exchanged') AND s.is_live
        ORDER BY b.id, s.seat_id""",
    "cancelled show has live bookings": f"""
        SELECT b.id, b.status, b.showtime_id
        FROM booking_booking b JOIN schedule_showtime t ON t.id = b.showtime_id
        WHERE {_ONLY} AND t.status = 'cancelled' AND b.status IN ('pending', 'confirmed')
        ORDER BY b.id""",
    "confirmed seat without ticket": f"""
        SELECT b.id, s.seat_id
        FROM booking_booking b JOIN booking_bookingseat s ON s.booking_id = b.id
        WHERE {_ONLY} AND b.status = 'confirmed' AND s.cancelled_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM booking_ticket k WHERE k.booking_seat_id = s.id)
        ORDER BY b.id, s.seat_id""",
    # The waitlist (boxoffice.waitlist): an entry's offers together hold at most its party's
    # seats (two offers for one entry, or an offer larger than the party, break it).
    "waitlist entry offered more than its party": f"""
        SELECT e.id, e.quantity, count(s.id)
        FROM booking_booking b
        JOIN waitlist_waitlistentry e ON e.id = b.waitlist_entry
        JOIN booking_bookingseat s ON s.booking_id = b.id
        WHERE {_ONLY} AND s.is_live AND (s.hold_expires_at IS NULL OR s.hold_expires_at > now())
        GROUP BY e.id, e.quantity
        HAVING count(s.id) > e.quantity
        ORDER BY e.id""",
}


def breaches(query: Query, booking_ids: Iterable[int] | None = None) -> dict[str, list[tuple]]:
    """Run every check through ``query(sql, params)``; returns only the checks that found rows.
    ``booking_ids`` restricts the checks to those bookings (None: all of them)."""
    ids = None if booking_ids is None else sorted(booking_ids)
    found = {}
    for name, sql in CHECKS.items():
        rows = query(sql, (ids, ids))
        if rows:
            found[name] = rows
    return found


def django_query(sql: str, params: tuple) -> list[tuple]:
    """Run a check through Django's default connection (the test database)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def format_breaches(found: dict[str, list[tuple]], *, limit: int = 10) -> str:
    return "; ".join(
        f"{name}: {rows[:limit]}{' ...' if len(rows) > limit else ''}"
        for name, rows in found.items()
    )


def assert_money_invariant(
    *, worker: bool = True, booking_ids: Sequence[int] | None = None
) -> None:
    """The sweep: run the worker's queued tasks (refunds) to completion, then check every
    booking (or ``booking_ids``). Fails naming each breach."""
    from boxoffice.booking.models import Booking

    if worker:
        run_worker()
    found = breaches(django_query, booking_ids)
    unsettled = Booking.objects.breaking_money_invariant()
    if booking_ids is not None:
        unsettled = unsettled.filter(pk__in=booking_ids)
    orm = sorted(unsettled.values_list("pk", "status", "paid_amount", "refunded_amount"))
    if orm:
        found["breaking_money_invariant()"] = orm
    assert not found, f"invariant broken: {format_breaches(found)}"


def localstripe_refunds_by_intent(base: str) -> dict[str, list[dict[str, Any]]]:
    """Every refund localstripe made, grouped by PaymentIntent (one listing for a whole test)."""
    by_intent: dict[str, list[dict[str, Any]]] = {}
    for refund in localstripe_list(base, "refunds"):
        by_intent.setdefault(refund["payment_intent"], []).append(refund)
    return by_intent

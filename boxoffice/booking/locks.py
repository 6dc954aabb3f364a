"""Every lock the booking app takes, in one place: the lock order, the advisory lock keys and
the helpers that take them. No other booking module writes ``select_for_update``, ``FOR
SHARE`` or ``pg_advisory_xact_lock``.

Lock order, everywhere (so no two writers can wait on each other in a cycle):

    the show's offers lock (the waitlist's offer worker only: a PostgreSQL advisory lock per
       show, taken first, so two workers offer one show's freed seats one after the other;
       the layers above may take their own rows after it, and then call into this order)
    -> the customer's user row (hold only: the per-customer cap)
    -> the show's best-available lock (best-available holds only: a PostgreSQL advisory lock
       per show, so racing best-available buyers choose one after the other)
    -> the show's row (shared: holds, payments and check-in; exclusive: a show's change or
       cancellation, taken by boxoffice.schedule.services)
    -> the (show, row) gap-rule locks (advisory, in row order: holds on a screen with the
       single-seat rule)
    -> seat rows (ascending seat id, then row id)
    -> booking rows (check-in: shared)

The first price policy's advisory lock is taken on its own, by the first reader of an empty
policy table (it waits for nothing else while holding it).

Advisory lock keys (PostgreSQL has one key space per database; these are all of ours):

    BEST_AVAILABLE + show id     one bigint: best-available buyers of a show
    OFFERS + show id             one bigint: the waitlist's offers of a show's freed seats
    FIRST_POLICY                 one bigint: creating the first price policy
    (show id & 0x7FFFFFFF, row)  two ints: the gap rule of one row of a show (the two-int form
                                 is a separate key space from the one-bigint form; a show id
                                 past 2^31 wraps and only shares a lock with another show's row)

Row locks are ``FOR NO KEY UPDATE`` (``no_key=True``): they exclude each other and the shows'
``FOR SHARE``, but not the key-share lock a foreign-key check takes. Django's foreign keys are
checked at COMMIT, so a full ``FOR UPDATE`` on a customer, booking or seat row made any commit
that refers to that row wait for us, while we could be waiting for a seat that commit's
transaction holds: a deadlock (PostgreSQL killed one side; the races saw it).

Bounded waits: every booking transaction that takes these locks is opened with
:func:`atomic` (``boxoffice.core.locks.bounded``), which sets ``SET LOCAL lock_timeout`` to
DB_LOCK_TIMEOUT_MS. When a lock is not granted in time PostgreSQL cancels the waiting statement
(SQLSTATE 55P03), the transaction is rolled back whole (nothing it wrote is kept, its own locks
are released) and the caller gets ``LockTimeout``: a 503 ``lock_timeout`` with Retry-After over
HTTP, a failed run for a housekeeping task (it runs again next tick). The helpers below must be
called inside such a transaction (or one the caller bounded with
``core.locks.set_lock_timeout``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Seat
from boxoffice.core.locks import advisory_xact_lock, bounded, set_lock_timeout
from boxoffice.schedule.models import Showtime

from .models import Booking, BookingSeat

__all__ = ["atomic", "set_lock_timeout"]

atomic = bounded  # a booking transaction: atomic, lock waits capped at DB_LOCK_TIMEOUT_MS

BEST_AVAILABLE = 0x5EA7 << 32  # + the show's id
OFFERS = 0x5EA8 << 32  # + the show's id
FIRST_POLICY = 0x5EA7_0001


@dataclass(frozen=True)
class Show:
    """The show as it is under its shared lock. ``terms`` (screen, movie, currency, base price)
    and ``seats_present`` are read only for a hold (``share_lock_show(..., for_hold=...)``)."""

    status: str
    starts_at: datetime
    terms: tuple[int, int, str, Decimal] | None = None
    seats_present: int | None = None


def lock_customer(user: User) -> None:
    """Lock the customer's row: their holds are counted against the cap one at a time."""
    list(
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True)
    )


def lock_offers(showtime_id: int) -> None:
    """Offers of one show's freed seats are made one after the other (the waitlist's worker:
    a transaction-scoped PostgreSQL advisory lock, the first lock of its transaction; SQLite's
    write lock already orders writers). The booking app itself never takes it."""
    advisory_xact_lock(OFFERS + showtime_id)


def lock_best_available(showtime_id: int) -> None:
    """Best-available buyers of one show choose one after the other (a transaction-scoped
    PostgreSQL advisory lock; SQLite's write lock already orders writers). Named holds do not
    take it: a seat they win meanwhile is refused by the unique index and the buyer retries."""
    advisory_xact_lock(BEST_AVAILABLE + showtime_id)


def share_lock_show(showtime_id: int, *, for_hold: Sequence[int] | None = None) -> Show:
    """Read the show's status and start under a shared lock (PostgreSQL ``FOR SHARE``): holds
    and payments of one show share it with each other, while a change or cancellation of the
    show (``FOR NO KEY UPDATE`` / UPDATE) waits for them, and they for it. So a hold or a payment is
    decided either wholly before a show's cancellation or wholly after it. On SQLite the
    transaction's write lock already orders them.

    A hold passes ``for_hold`` (the seat ids it asks for, possibly none): the same statement
    then also reads the show's sold terms and how many of those seats are still seats of its
    screen, so a hold judges its prices and seats against the show as it is now, not the copy
    it read before its transaction (an admin may have moved the show or rebuilt its grid in
    between), at no extra round trip."""
    hold = for_hold is not None
    ids = list(for_hold or ())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.status, s.starts_at, s.screen_id, s.movie_id, s.currency, s.base_price,"
                " (SELECT count(*) FROM catalog_seat c"
                "   WHERE c.id = ANY(%s) AND c.screen_id = s.screen_id)"
                " FROM schedule_showtime s WHERE s.id = %s FOR SHARE OF s",
                [ids, showtime_id],
            )
            status, starts_at, screen_id, movie_id, currency, base_price, present = (
                cursor.fetchone()
            )
    else:
        row = Showtime.objects.values(
            "status", "starts_at", "screen_id", "movie_id", "currency", "base_price"
        ).get(pk=showtime_id)
        status, starts_at = row["status"], row["starts_at"]
        screen_id, movie_id = row["screen_id"], row["movie_id"]
        currency, base_price = row["currency"], row["base_price"]
        present = Seat.objects.filter(pk__in=ids, screen_id=screen_id).count() if ids else 0
    if not hold:
        return Show(status=status, starts_at=starts_at)
    return Show(
        status=status,
        starts_at=starts_at,
        terms=(screen_id, movie_id, currency, base_price),
        seats_present=present,
    )


def lock_rows(showtime_id: int, rows: Iterable[int]) -> None:
    """Holds of the same rows of one show decide the gap rule one after the other: a
    transaction-scoped PostgreSQL advisory lock per (show, row), taken in row order so two
    holds never wait on each other in a cycle. A hold that waited then reads the rows with the
    other's seats committed. (SQLite's write lock already orders the transactions.)"""
    for row in sorted(set(rows)):
        advisory_xact_lock(showtime_id & 0x7FFFFFFF, row)


def lock_shows_of_screen(*, screen_id: int) -> None:
    """Lock every show of the screen exclusively (``FOR NO KEY UPDATE``, in id order), as a
    show's change does: holds and payments of those shows, which share the show's row, finish
    first or wait until the caller's transaction ends (a seat grid rebuild takes it)."""
    list(
        Showtime.objects.filter(screen_id=screen_id)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def lock_seat_rows(rows: Q) -> None:
    """Lock the BookingSeat rows matching ``rows`` in the global order (seat, id)."""
    list(
        BookingSeat.objects.filter(rows)
        .order_by("seat_id", "id")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def lock_lapsed_seat_rows(*, showtime_id: int, seat_ids: Iterable[int], now: datetime) -> list[int]:
    """Lock the lapsed holds' rows on ``seat_ids`` in seat order; their ids."""
    return list(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=list(seat_ids))
        .lapsed(now)
        .order_by("seat_id", "id")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def lock_booking_row(booking_id: int) -> Booking:
    """The booking's own row, locked (the caller has locked its seat rows first)."""
    return Booking.objects.select_for_update(no_key=True).get(pk=booking_id)


def lock_booking(booking_id: int) -> Booking:
    """Lock the booking's seat rows, then the booking itself (the global order), and return the
    booking as it is now. Only the booking's row: its show, read along, is not locked (FOR
    UPDATE over the join locked the show's row too, after the seat rows, against the lock
    order; a payment holding the show's shared lock then waited for our seat rows while we
    waited for the show: deadlock, tests/concurrency/test_money_races.py)."""
    lock_seat_rows(Q(booking_id=booking_id))
    return (
        Booking.objects.select_for_update(of=("self",), no_key=True)
        .select_related("showtime")
        .get(pk=booking_id)
    )


def lock_for_admission(*, showtime_id: int, booking_id: int) -> None:
    """Check-in's locks, which order an admission against a cancellation: the show's row
    shared (a show's cancellation updates it, so it waits for doors that are admitting, and a
    door that comes after it sees the show cancelled), then the booking's row shared (a
    customer's or an admin's cancel locks it exclusively and then reads whether a ticket was
    used, so it sees this admission, or this admission sees the booking cancelled). Check-in
    locks no seat rows."""
    if connection.vendor != "postgresql":
        return  # SQLite: the transaction's write lock already orders writers
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM schedule_showtime WHERE id = %s FOR SHARE", [showtime_id])
        cursor.execute("SELECT 1 FROM booking_booking WHERE id = %s FOR SHARE", [booking_id])


def lock_first_policy() -> None:
    """Creators of the first price policy take turns (see ``pricing.current_policy``)."""
    advisory_xact_lock(FIRST_POLICY)

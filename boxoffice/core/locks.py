"""Database lock primitives every app may use (core imports nothing of ours): a bounded wait
for locks, transaction-scoped advisory locks, and the 503 a wait that ran out becomes.

The lock order and the advisory key table are the booking app's (:mod:`boxoffice.booking.locks`);
this module only knows how to take a lock and how long to wait for one.

A bounded wait (PostgreSQL ``lock_timeout``, DB_LOCK_TIMEOUT_MS). :func:`bounded` opens a
transaction (or a savepoint) whose lock waits are capped with ``SET LOCAL lock_timeout``: it
applies to every lock the transaction waits for until it ends, the explicit ones (``FOR SHARE``,
``FOR NO KEY UPDATE``, advisory locks) and the implicit ones (an UPDATE's row lock, a foreign
key's key-share check). A lock that is not granted in time makes PostgreSQL cancel the waiting
statement (SQLSTATE 55P03, psycopg's ``LockNotAvailable``, which Django raises as
``OperationalError``). The transaction is then aborted: the atomic block rolls it back, so
nothing it wrote survives and every lock it held is released at once. :func:`bounded` turns the
error into :class:`LockTimeout`, a 503 with ``Retry-After`` (code ``lock_timeout``): the
request changed nothing and may simply be sent again; Stripe retries a webhook by itself, and
the housekeeping tasks run again on their next tick. Without the bound a request would queue
behind a stuck transaction for as long as that one lives, holding a worker and a connection.

SQLite has no lock waits to bound (its one write lock waits for ``timeout`` seconds, Django's
connection option); there these functions only open the atomic block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import OperationalError, connection, transaction

from .errors import Unavailable

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for a lock_timeout (or NOWAIT) refusal


class LockTimeout(Unavailable):
    """503: a lock we needed was held by another transaction for longer than DB_LOCK_TIMEOUT_MS.
    Nothing changed (the transaction was rolled back); retry after ``Retry-After`` seconds."""

    default_detail = "The seats or the booking are busy with another request; please retry."
    default_code = "lock_timeout"
    retry_after = 1  # seconds, sent as Retry-After


def is_lock_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing a lock after ``lock_timeout``."""
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    return LOCK_NOT_AVAILABLE in (getattr(cause, "sqlstate", None), getattr(cause, "pgcode", None))


def set_lock_timeout() -> None:
    """Cap this transaction's lock waits at DB_LOCK_TIMEOUT_MS (PostgreSQL; ``SET LOCAL``: it
    ends with the transaction). Call it inside an atomic block."""
    if connection.vendor != "postgresql":
        return
    milliseconds = int(settings.DB_LOCK_TIMEOUT_MS)
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {milliseconds}")


@contextmanager
def bounded() -> Iterator[None]:
    """``transaction.atomic()`` whose lock waits are bounded (:func:`set_lock_timeout`); a wait
    that ran out leaves it, rolled back, as :class:`LockTimeout`."""
    try:
        with transaction.atomic():
            set_lock_timeout()
            yield
    except OperationalError as exc:
        if is_lock_timeout(exc):
            raise LockTimeout() from exc
        raise


def advisory_xact_lock(*key: int) -> None:
    """Take a transaction-scoped PostgreSQL advisory lock on ``key`` (one bigint or two ints),
    waiting at most the transaction's lock_timeout. No-op elsewhere: SQLite's write lock
    already orders writers."""
    if connection.vendor != "postgresql":
        return
    placeholders = ", ".join(["%s"] * len(key))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock({placeholders})", list(key))

"""Negative controls for the guards PostgreSQL keeps: take a constraint or unique index away for
one test, then put it back exactly as it was (its definition read from the catalog).

Putting it back needs the table without the duplicates the test made: its rows are truncated
(with the rows that refer to them) first. Every test using this is ``transaction=True``, so those
rows would be flushed at its end anyway.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection


@contextlib.contextmanager
def without_index(table: str, name: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            [table, name],
        )
        (definition,) = cursor.fetchone()
        cursor.execute(f'DROP INDEX "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'TRUNCATE "{table}" CASCADE')
            cursor.execute(definition)


@contextlib.contextmanager
def without_constraint(table: str, name: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND conname = %s",
            [table, name],
        )
        (definition,) = cursor.fetchone()
        cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'TRUNCATE "{table}" CASCADE')
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')

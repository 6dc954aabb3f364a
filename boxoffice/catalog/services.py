"""Writes to the catalog: the seat-grid builder and movie genres."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from boxoffice.core.errors import Conflict, InputError

from . import signals
from .models import Movie, Screen, Seat, Tier
from .rows import row_name

MAX_ROWS = 60
MAX_SEATS_PER_ROW = 100


class GridError(InputError):
    """The requested grid is invalid; the message says why, ``field`` says which input."""


def save_timing_change[Timed: (Movie, Screen)](save: Callable[[], Timed]) -> Timed:
    """Save a change to a movie or a screen (``save`` does it: a serializer's or an admin
    form's) with its consequences, in one transaction: a movie's duration or a screen's cleaning
    gap spans their shows, so the schedule re-spans the shows still ahead (``timing_changed``)
    and refuses, with 409 naming them, a change that would make shows overlap; the change is
    then rolled back."""
    with transaction.atomic():
        obj = save()
        signals.timing_changed.send(sender=type(obj), instance=obj)
    return obj


def generate_seat_grid(
    *,
    screen: Screen,
    rows: int,
    seats_per_row: int,
    tiers: Mapping[str, Sequence[str]] | None = None,
) -> list[Seat]:
    """Replace ``screen``'s seats with a ``rows`` x ``seats_per_row`` grid.

    Rows are named A, B, ..., Z, AA, ...; seats are numbered from 1. ``tiers`` maps a tier to
    the rows it covers (``{"vip": ["A"], "premium": ["B", "C"]}``); other rows are standard.

    Once any booking refers to a seat of this screen the database refuses to delete the seats
    (PROTECT), and we answer 409: a sold ticket must keep pointing at the seat it sold.
    """
    if not 1 <= rows <= MAX_ROWS:
        raise GridError(f"rows must be between 1 and {MAX_ROWS}.", field="rows")
    if not 1 <= seats_per_row <= MAX_SEATS_PER_ROW:
        raise GridError(
            f"seats_per_row must be between 1 and {MAX_SEATS_PER_ROW}.", field="seats_per_row"
        )
    names = [row_name(i) for i in range(rows)]
    tier_of_row: dict[str, str] = {}
    for tier, tier_rows in (tiers or {}).items():
        if tier not in Tier.values:
            raise GridError(f"unknown tier {tier!r}; use one of {Tier.values}.", field="tiers")
        for name in tier_rows:
            if name not in names:
                raise GridError(
                    f"row {name!r} is not in the grid (rows {names[0]}..{names[-1]}).",
                    field="tiers",
                )
            if name in tier_of_row and tier_of_row[name] != tier:
                raise GridError(f"row {name!r} is given two tiers.", field="tiers")
            tier_of_row[name] = tier

    seats = [
        Seat(
            screen=screen,
            row=name,
            row_index=index,
            number=number,
            tier=tier_of_row.get(name, Tier.STANDARD),
        )
        for index, name in enumerate(names)
        for number in range(1, seats_per_row + 1)
    ]
    try:
        with transaction.atomic():
            Seat.objects.filter(screen=screen).delete()
            created = Seat.objects.bulk_create(seats)
            signals.seat_grid_changed.send(sender=Screen, screen_id=screen.pk)
            return created
    except (ProtectedError, RestrictedError) as exc:
        raise Conflict(
            "This screen's seats are referenced by bookings; its grid can no longer be rebuilt.",
            code="screen_has_bookings",
        ) from exc

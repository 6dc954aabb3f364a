"""Writes to the catalog: the seat-grid builder and movie genres."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from boxoffice.core.errors import Conflict, InputError

from . import signals
from .models import Movie, Screen, Seat, SeatKind, Theater, Tier
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


def save_theater(save: Callable[[], Theater], *, theater_id: int | None = None) -> Theater:
    """Save a new or changed theater (``save`` does it: a serializer's or an admin form's;
    ``theater_id``: the theater changed, None for a new one), in one transaction. When its time
    zone changed, so did its shows' local start times: ``local_time_changed`` lets the layers
    above follow (the seat maps' prices, whose morning discount is read on the local clock)."""
    with transaction.atomic():
        before = None
        if theater_id is not None:
            before = (
                Theater.objects.select_for_update()
                .filter(pk=theater_id)
                .values_list("timezone", flat=True)
                .first()
            )
        theater = save()
        if before is not None and before != theater.timezone:
            signals.local_time_changed.send(sender=Theater, theater_id=theater.pk)
    return theater


def generate_seat_grid(
    *,
    screen: Screen,
    rows: int,
    seats_per_row: int,
    tiers: Mapping[str, Sequence[str]] | None = None,
    aisles_after: Sequence[int] | None = None,
    kinds: Mapping[str, Sequence[str]] | None = None,
    blocked: Sequence[str] | None = None,
) -> list[Seat]:
    """Replace ``screen``'s seats with a ``rows`` x ``seats_per_row`` grid.

    Rows are named A, B, ..., Z, AA, ...; seats are numbered from 1. ``tiers`` maps a tier to
    the rows it covers (``{"vip": ["A"], "premium": ["B", "C"]}``); other rows are standard.

    ``aisles_after`` lists seat numbers followed by an aisle in every row (``[4, 12]``: an aisle
    between 4 and 5 and one between 12 and 13). Seats get drawing coordinates: ``y`` the row's
    index, ``x`` the seat's column counting one empty column per aisle before it (so seats side
    by side have consecutive ``x``). ``kinds`` maps ``wheelchair``/``companion`` (or
    ``standard``) to seat labels (``{"wheelchair": ["A1", "A2"], "companion": ["A3"]}``); each
    companion seat belongs to the wheelchair space beside it (same row, no aisle between; the
    left one when both are), stored as ``companion_of``. ``blocked`` lists labels not for sale.

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

    aisles = sorted(set(aisles_after or ()))
    for after in aisles:
        if not 1 <= after < seats_per_row:
            raise GridError(
                f"aisles_after: {after} is not between two seats (1..{seats_per_row - 1}).",
                field="aisles_after",
            )
    seats = [
        Seat(
            screen=screen,
            row=name,
            row_index=index,
            number=number,
            tier=tier_of_row.get(name, Tier.STANDARD),
            x=number - 1 + sum(1 for after in aisles if after < number),
            y=index,
        )
        for index, name in enumerate(names)
        for number in range(1, seats_per_row + 1)
    ]
    by_label = {seat.label: seat for seat in seats}
    for kind, labels in (kinds or {}).items():
        if kind not in SeatKind.values:
            raise GridError(f"unknown seat kind {kind!r}; use {SeatKind.values}.", field="kinds")
        for label in labels:
            if label not in by_label:
                raise GridError(f"seat {label!r} is not in the grid.", field="kinds")
            if by_label[label].kind != SeatKind.STANDARD and by_label[label].kind != kind:
                raise GridError(f"seat {label!r} is given two kinds.", field="kinds")
            by_label[label].kind = kind
    for label in blocked or ():
        if label not in by_label:
            raise GridError(f"seat {label!r} is not in the grid.", field="blocked")
        by_label[label].blocked = True
    companions = companion_links(seats)
    try:
        with transaction.atomic():
            signals.seat_grid_changing.send(sender=Screen, screen_id=screen.pk)
            Seat.objects.filter(screen=screen).delete()
            created = Seat.objects.bulk_create(seats)
            for companion, space in companions:
                companion.companion_of = space
            Seat.objects.bulk_update([companion for companion, _ in companions], ["companion_of"])
            signals.seat_grid_changed.send(sender=Screen, screen_id=screen.pk)
            return created
    except (ProtectedError, RestrictedError, IntegrityError) as exc:
        # IntegrityError: a booking row committed between the check and our commit (the
        # foreign keys are checked at COMMIT); the shows are locked above, so this is a guard.

        raise Conflict(
            "This screen's seats are referenced by bookings; its grid can no longer be rebuilt.",
            code="screen_has_bookings",
        ) from exc


def companion_links(seats: Sequence[Seat]) -> list[tuple[Seat, Seat]]:
    """Each companion seat's wheelchair space: the seat beside it (same row, adjacent ``x``,
    the left one when both are spaces). GridError naming a companion with none."""
    at = {(seat.y, seat.x): seat for seat in seats}
    links: list[tuple[Seat, Seat]] = []
    for seat in seats:
        if seat.kind != SeatKind.COMPANION:
            continue
        beside = [at.get((seat.y, seat.x - 1)), at.get((seat.y, seat.x + 1))]
        spaces = [s for s in beside if s is not None and s.kind == SeatKind.WHEELCHAIR]
        if not spaces:
            raise GridError(
                f"companion seat {seat.label} has no wheelchair space beside it (same row, no "
                "aisle between).",
                field="kinds",
            )
        links.append((seat, spaces[0]))
    return links


def _lock_seats_of(screen: Screen) -> list[Seat]:
    """The screen's seats, locked against other layout edits until the transaction ends.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: a hold's commit takes a key-share lock on the
    seats its new rows refer to (Django checks foreign keys at COMMIT), and a full ``FOR
    UPDATE`` made that commit wait for this edit while the edit waited for the seat-map token
    the hold had written: a deadlock (tests/concurrency/test_layout_races.py). Blocking a seat
    does not change its key, so holds of it are not excluded; a seat blocked after its sale
    stays sold."""
    return list(Seat.objects.select_for_update(no_key=True).filter(screen=screen).order_by("id"))


def update_seats(
    *,
    screen: Screen,
    seat_ids: Sequence[int],
    blocked: bool | None = None,
    kind: str | None = None,
) -> list[Seat]:
    """Mark seats of ``screen`` blocked (not for sale) or not, and/or change their kind; works
    on a screen with bookings too (sold tickets keep their seats; a seat blocked after its sale
    stays sold). Companion links are recomputed for the whole screen (GridError when a
    companion is left without a wheelchair space beside it). The shows of the screen are
    redrawn (``seat_grid_changed``). Returns the screen's seats."""
    if kind is not None and kind not in SeatKind.values:
        raise GridError(f"unknown seat kind {kind!r}; use {SeatKind.values}.", field="kind")
    with transaction.atomic():
        seats = _lock_seats_of(screen)
        by_id = {seat.pk: seat for seat in seats}
        unknown = sorted(set(seat_ids) - set(by_id))
        if unknown:
            raise GridError(f"Seats {unknown} are not in this screen.", field="seats")
        for seat_id in seat_ids:
            if blocked is not None:
                by_id[seat_id].blocked = blocked
            if kind is not None:
                by_id[seat_id].kind = kind
        links = {companion.pk: space for companion, space in companion_links(seats)}
        for seat in seats:
            seat.companion_of = links.get(seat.pk)
        Seat.objects.bulk_update(seats, ["blocked", "kind", "companion_of"])
        signals.seat_grid_changed.send(sender=Screen, screen_id=screen.pk)
    return sorted(seats, key=lambda s: (s.row_index, s.number))

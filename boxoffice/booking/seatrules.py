"""Seat rules cinemas use, as pure functions over one show's seats (no database, no clock).

Vocabulary
----------
- A **block** is a maximal run of seats side by side: the same drawing row ``y`` and
  consecutive ``x``. A step of more than one column is an aisle; a block ends at an aisle or at
  the row's end.
- A seat is **unavailable** when a live hold or a sale occupies it (``taken``) or it is
  ``blocked``; otherwise it is **free** (whoever may buy it: wheelchair spaces and companion
  seats count as free seats here).
- A **free run** is a maximal run of free seats within a block. A free run of exactly one seat
  is a **lone seat**: one empty seat alone between unavailable seats, an aisle or the row's end.

The single-seat gap rule (``Screen.single_seat_rule``)
------------------------------------------------------
A hold of the seats ``H`` is refused (409 ``single_seat_gap``, naming the seat) when, for some
free run ``R`` (before the hold) that ``H`` takes ``k >= 1`` seats of, the seats of ``R`` left
free form a lone seat, **unless** ``len(R) - k == 1``: the hold leaves exactly one seat of that
run free, so whichever ``k`` seats of it were chosen, that one seat is alone (the run is a pair
plus one and two are asked, or all but one are asked). With two or more seats of ``R`` left
free, taking the ``k`` at one end of ``R`` leaves them together, so a lone seat was avoidable.
Lone seats that already existed, and runs the hold does not touch, never refuse a hold.

Wheelchair spaces and companion seats
-------------------------------------
Until the release moment (``ACCESSIBLE_RELEASE_MINUTES`` before the show):
- a ``wheelchair`` space is held only with ``accessible: true`` (409 ``wheelchair_only``);
- a ``companion`` seat is held only together with the wheelchair space it belongs to, or by a
  customer who already holds or bought that space (409 ``companion_only``).
From the release moment both are on general sale. A ``blocked`` seat is never sold
(409 ``seat_blocked``).

Best available
--------------
:func:`best_available` picks ``N`` seats of one block side by side (no aisle between), all
usable by this buyer. Among the candidate windows it prefers, in this order:
1. creating no lone seat (a window that strands a seat is chosen only when every window does,
   and never when the screen's gap rule would refuse it);
2. with ``accessible``, holding exactly one wheelchair space;
3. the least squared distance from the window's centre to the screen's sweet spot;
4. the fewest seats stranded: seats the hold leaves in pieces of its block's free run too
   small for another party of ``N``;
5. the front-most row, then the left-most seat (a stable order).
With ``allow_split``, when no block has ``N`` usable seats together, it picks two windows in
adjacent rows (sizes ``a + b = N``), scored the same way on the whole party, and then by how
well the two halves line up.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

STANDARD = "standard"
WHEELCHAIR = "wheelchair"
COMPANION = "companion"

#: Seat-map ``reason`` values: why a rule (not a sale) stops a seat being chosen.
REASON_BLOCKED = "blocked"
REASON_WHEELCHAIR_ONLY = "wheelchair_only"
REASON_COMPANION_ONLY = "companion_only"

#: How many of the best windows per row and size the split search combines.
_SPLIT_CANDIDATES = 6


@dataclass(frozen=True, slots=True)
class SeatInfo:
    id: int
    label: str
    x: int
    y: int
    tier: str = STANDARD
    kind: str = STANDARD
    blocked: bool = False
    companion_of: int | None = None


class RuleViolation(Exception):
    """A hold a seat rule refuses: ``code`` is the 409 code, ``labels`` the seats at fault."""

    def __init__(self, code: str, message: str, labels: Sequence[str]) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.labels = list(labels)


@dataclass
class Layout:
    """A screen's seats grouped into blocks (see the module docstring)."""

    seats: dict[int, SeatInfo]
    blocks: list[list[SeatInfo]]
    #: seat id -> (block index, position in the block)
    where: dict[int, tuple[int, int]] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return max((s.x for s in self.seats.values()), default=-1) + 1

    @property
    def rows(self) -> int:
        return max((s.y for s in self.seats.values()), default=-1) + 1


def build_layout(seats: Iterable[SeatInfo]) -> Layout:
    ordered = sorted(seats, key=lambda s: (s.y, s.x))
    blocks: list[list[SeatInfo]] = []
    for seat in ordered:
        last = blocks[-1][-1] if blocks else None
        if last is not None and last.y == seat.y and seat.x == last.x + 1:
            blocks[-1].append(seat)
        else:
            blocks.append([seat])
    where = {seat.id: (b, i) for b, block in enumerate(blocks) for i, seat in enumerate(block)}
    return Layout(seats={s.id: s for s in ordered}, blocks=blocks, where=where)


def sweet_spot(layout: Layout, *, column_percent: int, row_percent: int) -> tuple[float, float]:
    """The point best available aims at, in drawing coordinates: ``column_percent`` of the way
    across the seats, ``row_percent`` of the way from the front row to the back."""
    if not layout.seats:
        return 0.0, 0.0
    xs = [s.x for s in layout.seats.values()]
    ys = [s.y for s in layout.seats.values()]
    return (
        min(xs) + (max(xs) - min(xs)) * column_percent / 100,
        min(ys) + (max(ys) - min(ys)) * row_percent / 100,
    )


def reason(seat: SeatInfo, *, released: bool) -> str | None:
    """Why a rule stops this seat being chosen by just anyone (the seat map's ``reason``)."""
    if seat.blocked:
        return REASON_BLOCKED
    if not released and seat.kind == WHEELCHAIR:
        return REASON_WHEELCHAIR_ONLY
    if not released and seat.kind == COMPANION:
        return REASON_COMPANION_ONLY
    return None


# --- the single-seat gap -----------------------------------------------------------------------


def _free_runs(block: Sequence[SeatInfo], unavailable: Collection[int]) -> list[tuple[int, int]]:
    """The free runs of a block as [start, end) positions."""
    runs = []
    start = None
    for i, seat in enumerate(block):
        if seat.id in unavailable:
            if start is not None:
                runs.append((start, i))
                start = None
        elif start is None:
            start = i
    if start is not None:
        runs.append((start, len(block)))
    return runs


def _unavailable(layout: Layout, taken: Collection[int], block: Sequence[SeatInfo]) -> set[int]:
    return {s.id for s in block if s.blocked or s.id in taken}


def gap_violations(
    layout: Layout, taken: Collection[int], selection: Collection[int]
) -> list[SeatInfo]:
    """The seats a hold of ``selection`` would leave alone against the gap rule (empty when the
    rule lets the hold through). ``taken``: seats already held or sold."""
    chosen = set(selection)
    blocks = sorted({layout.where[i][0] for i in chosen if i in layout.where})
    lone: list[SeatInfo] = []
    for b in blocks:
        block = layout.blocks[b]
        for start, end in _free_runs(block, _unavailable(layout, taken, block)):
            run = block[start:end]
            k = sum(1 for s in run if s.id in chosen)
            if k == 0 or len(run) - k == 1:
                continue  # untouched, or one seat left whatever the choice
            left_free = [s.id not in chosen for s in run]
            for i, free in enumerate(left_free):
                if (
                    free
                    and (i == 0 or not left_free[i - 1])
                    and (i == len(run) - 1 or not left_free[i + 1])
                ):
                    lone.append(run[i])
    return lone


# --- the rules of one hold ---------------------------------------------------------------------


def check_hold(
    layout: Layout,
    taken: Collection[int],
    selection: Collection[int],
    *,
    accessible: bool,
    released: bool,
    own_spaces: Collection[int] = (),
    single_seat_rule: bool,
) -> None:
    """Raise :class:`RuleViolation` for the first rule that refuses holding ``selection``
    (seat ids of ``layout``, all free). ``own_spaces``: wheelchair spaces this customer already
    holds or bought for the show. The gap rule needs only the blocks of the selection in
    ``layout``; the other rules only the selected seats."""
    seats = sorted((layout.seats[i] for i in selection), key=lambda s: (s.y, s.x))
    chosen = set(selection)
    blocked = [s.label for s in seats if s.blocked]
    if blocked:
        raise RuleViolation(
            "seat_blocked", f"Not for sale: {', '.join(blocked)} (blocked by the cinema).", blocked
        )
    if not released:
        spaces = [s.label for s in seats if s.kind == WHEELCHAIR]
        if spaces and not accessible:
            raise RuleViolation(
                "wheelchair_only",
                f"{', '.join(spaces)}: wheelchair space(s), held only on request: ask with "
                '"accessible": true. They go on general sale shortly before the show.',
                spaces,
            )
        lonely = [
            s.label
            for s in seats
            if s.kind == COMPANION
            and s.companion_of not in chosen
            and s.companion_of not in own_spaces
        ]
        if lonely:
            raise RuleViolation(
                "companion_only",
                f"{', '.join(lonely)}: companion seat(s), held only together with the wheelchair "
                "space they belong to, or by the holder of that space.",
                lonely,
            )
    if single_seat_rule:
        lone = gap_violations(layout, taken, chosen)
        if lone:
            labels = [s.label for s in lone]
            raise RuleViolation(
                "single_seat_gap",
                f"This selection would leave {', '.join(labels)} empty and alone in its row; "
                "choose seats that leave no single seat, or include it.",
                labels,
            )


# --- best available ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    block: int
    start: int
    seats: tuple[SeatInfo, ...]
    lone: int  # lone seats it creates
    stranded: int  # seats left in pieces too small for another party of the same size
    cx: float
    cy: float


def _usable(
    seat: SeatInfo,
    taken: Collection[int],
    *,
    tier: str | None,
    accessible: bool,
    released: bool,
    own_spaces: Collection[int],
) -> bool:
    if seat.blocked or seat.id in taken or (tier is not None and seat.tier != tier):
        return False
    if released or seat.kind == STANDARD:
        return True
    if seat.kind == WHEELCHAIR:
        return accessible
    # A companion: with its space in the same hold (checked per window), or its space's holder.
    return accessible or seat.companion_of in own_spaces


def _windows(
    layout: Layout,
    taken: Collection[int],
    size: int,
    *,
    usable: dict[int, bool],
    released: bool,
    own_spaces: Collection[int],
    rows: Collection[int] | None = None,
) -> Iterable[_Window]:
    """Every window of ``size`` usable seats side by side, with its stranding counts."""
    for b, block in enumerate(layout.blocks):
        if len(block) < size or (rows is not None and block[0].y not in rows):
            continue
        unavailable = _unavailable(layout, taken, block)
        for run_start, run_end in _free_runs(block, unavailable):
            if run_end - run_start < size:
                continue
            i = run_start
            while i + size <= run_end:
                window = block[i : i + size]
                bad = next((j for j in range(size - 1, -1, -1) if not usable[window[j].id]), None)
                if bad is not None:
                    i += bad + 1
                    continue
                ids = {s.id for s in window}
                if not released and any(
                    s.kind == COMPANION
                    and s.companion_of not in ids
                    and s.companion_of not in own_spaces
                    for s in window
                ):
                    i += 1
                    continue
                left, right = i - run_start, run_end - (i + size)
                yield _Window(
                    block=b,
                    start=i,
                    seats=tuple(window),
                    lone=(left == 1) + (right == 1),
                    stranded=(left if 0 < left < size else 0) + (right if 0 < right < size else 0),
                    cx=(window[0].x + window[-1].x) / 2,
                    cy=window[0].y,
                )
                i += 1


def _gap_allows(window: _Window, layout: Layout, taken: Collection[int]) -> bool:
    return not window.lone or not gap_violations(layout, taken, [s.id for s in window.seats])


def best_available(
    layout: Layout,
    taken: Collection[int],
    quantity: int,
    *,
    spot: tuple[float, float],
    tier: str | None = None,
    accessible: bool = False,
    released: bool = False,
    own_spaces: Collection[int] = (),
    single_seat_rule: bool = True,
    allow_split: bool = False,
) -> list[SeatInfo] | None:
    """The best ``quantity`` seats for this buyer (see the module docstring), or None when no
    block has them side by side (and no split across adjacent rows, if allowed). The result
    always passes :func:`check_hold`."""
    if quantity < 1:
        return None
    usable = {
        i: _usable(
            s, taken, tier=tier, accessible=accessible, released=released, own_spaces=own_spaces
        )
        for i, s in layout.seats.items()
    }
    sx, sy = spot

    def spaces_penalty(seats: Iterable[SeatInfo]) -> int:
        if not accessible:
            return 0
        n = sum(1 for s in seats if s.kind == WHEELCHAIR)
        return 2 if n == 0 else n - 1  # none: not what was asked; more than one: wasteful

    best: tuple | None = None
    best_window: _Window | None = None
    for w in _windows(
        layout, taken, quantity, usable=usable, released=released, own_spaces=own_spaces
    ):
        penalty = spaces_penalty(w.seats)
        if accessible and penalty == 2:
            continue
        if single_seat_rule and w.lone and not _gap_allows(w, layout, taken):
            continue
        key = (w.lone, penalty, (w.cx - sx) ** 2 + (w.cy - sy) ** 2, w.stranded, w.cy, w.cx)
        if best is None or key < best:
            best, best_window = key, w
    if best_window is not None:
        return list(best_window.seats)
    if allow_split and quantity > 1:
        return _best_split(
            layout,
            taken,
            quantity,
            usable=usable,
            spot=spot,
            accessible=accessible,
            released=released,
            own_spaces=own_spaces,
            single_seat_rule=single_seat_rule,
            spaces_penalty=spaces_penalty,
        )
    return None


def _best_split(
    layout: Layout,
    taken: Collection[int],
    quantity: int,
    *,
    usable: dict[int, bool],
    spot: tuple[float, float],
    accessible: bool,
    released: bool,
    own_spaces: Collection[int],
    single_seat_rule: bool,
    spaces_penalty: Callable[[Iterable[SeatInfo]], int],
) -> list[SeatInfo] | None:
    """Two windows in adjacent rows, sizes a + b = quantity."""
    sx, sy = spot
    # The best few windows per (row, size), by their own score.
    per_row: dict[tuple[int, int], list[_Window]] = {}
    for size in range(1, quantity):
        for w in _windows(layout, taken, size, usable=usable, released=True, own_spaces=own_spaces):
            if single_seat_rule and w.lone and not _gap_allows(w, layout, taken):
                continue
            per_row.setdefault((w.seats[0].y, size), []).append(w)
    for found in per_row.values():
        found.sort(key=lambda w: (w.lone, (w.cx - sx) ** 2 + (w.cy - sy) ** 2, w.stranded, w.cx))
        del found[_SPLIT_CANDIDATES:]
    best: tuple | None = None
    chosen: list[SeatInfo] | None = None
    rows = sorted({y for y, _ in per_row})
    for y in rows:
        for a in range(1, quantity):
            b = quantity - a
            for front in per_row.get((y, a), ()):
                for back in per_row.get((y + 1, b), ()):
                    seats = [*front.seats, *back.seats]
                    ids = {s.id for s in seats}
                    if not released and any(
                        s.kind == COMPANION
                        and s.companion_of not in ids
                        and s.companion_of not in own_spaces
                        for s in seats
                    ):
                        continue
                    penalty = spaces_penalty(seats)
                    if accessible and penalty == 2:
                        continue
                    cx = sum(s.x for s in seats) / quantity
                    cy = sum(s.y for s in seats) / quantity
                    key = (
                        front.lone + back.lone,
                        penalty,
                        (cx - sx) ** 2 + (cy - sy) ** 2,
                        abs(front.cx - back.cx),
                        front.stranded + back.stranded,
                        y,
                        cx,
                    )
                    if best is None or key < best:
                        best, chosen = key, seats
    return chosen

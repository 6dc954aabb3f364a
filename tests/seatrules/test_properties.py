"""Hypothesis over random grids, aisles and taken patterns (pure: boxoffice.booking.seatrules).

- the gap rule matches a plain reference written here from the definition;
- best available returns N free seats side by side (same row, consecutive columns, no aisle)
  whenever such seats exist, and never strands a seat it could have avoided.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.booking import seatrules
from boxoffice.booking.seatrules import SeatInfo


@st.composite
def rooms(draw):  # type: ignore[no-untyped-def]
    """A grid with aisles, some seats taken and some blocked."""
    rows = draw(st.integers(1, 4))
    per_row = draw(st.integers(1, 12))
    aisles = (
        draw(st.sets(st.integers(1, max(1, per_row - 1)), max_size=3)) if per_row > 1 else set()
    )
    seats = []
    for y in range(rows):
        for number in range(1, per_row + 1):
            x = number - 1 + sum(1 for a in aisles if a < number)
            seats.append(SeatInfo(id=len(seats) + 1, label=f"{chr(65 + y)}{number}", x=x, y=y))
    ids = [s.id for s in seats]
    taken = draw(st.sets(st.sampled_from(ids), max_size=len(ids)))
    blocked = draw(st.sets(st.sampled_from(ids), max_size=2))
    seats = [SeatInfo(id=s.id, label=s.label, x=s.x, y=s.y, blocked=s.id in blocked) for s in seats]
    return seats, taken


# --- a plain reference of the gap rule ---------------------------------------------------------


def reference_lone_after(seats: list[SeatInfo], unavailable: set[int]) -> set[int]:
    """Free seats with no free neighbour: the seat beside it (same row, x +- 1) is missing
    (an aisle or the row's end) or unavailable."""
    at = {(s.y, s.x): s for s in seats}
    lone = set()
    for s in seats:
        if s.id in unavailable:
            continue
        left, right = at.get((s.y, s.x - 1)), at.get((s.y, s.x + 1))
        if (left is None or left.id in unavailable) and (right is None or right.id in unavailable):
            lone.add(s.id)
    return lone


def reference_stretch(seats: list[SeatInfo], unavailable: set[int], seat: SeatInfo) -> set[int]:
    """The free seats reachable from ``seat`` through free neighbours in its row."""
    at = {(s.y, s.x): s for s in seats}
    found, todo = {seat.id}, [seat]
    while todo:
        s = todo.pop()
        for dx in (-1, 1):
            n = at.get((s.y, s.x + dx))
            if n is not None and n.id not in unavailable and n.id not in found:
                found.add(n.id)
                todo.append(n)
    return found


def reference_refuses(seats: list[SeatInfo], taken: set[int], chosen: set[int]) -> bool:
    """Refused: a seat is alone after the hold that was not before, in a stretch of free seats
    the hold takes from, unless the hold leaves exactly one seat of that stretch free."""
    by_id = {s.id: s for s in seats}
    before = taken | {s.id for s in seats if s.blocked}
    after = before | chosen
    new_lone = reference_lone_after(seats, after) - reference_lone_after(seats, before)
    for seat_id in new_lone:
        stretch = reference_stretch(seats, before, by_id[seat_id])
        if len(stretch - chosen) != 1:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(room=rooms(), data=st.data())
def test_gap_rule_matches_the_reference(room, data):  # type: ignore[no-untyped-def]
    seats, taken = room
    free = [s.id for s in seats if s.id not in taken and not s.blocked]
    if not free:
        return
    chosen = data.draw(st.sets(st.sampled_from(free), min_size=1, max_size=min(6, len(free))))
    layout = seatrules.build_layout(seats)
    refused = bool(seatrules.gap_violations(layout, taken, chosen))
    assert refused == reference_refuses(seats, taken, chosen)


def windows(seats: list[SeatInfo], taken: set[int], n: int) -> list[list[SeatInfo]]:
    """Every set of n free seats side by side (same row, consecutive x)."""
    at = {(s.y, s.x): s for s in seats}
    found = []
    for s in seats:
        run = [at.get((s.y, s.x + i)) for i in range(n)]
        if all(r is not None and r.id not in taken and not r.blocked for r in run):
            found.append(run)
    return found


def strands(seats, taken, window) -> bool:  # type: ignore[no-untyped-def]
    before = taken | {s.id for s in seats if s.blocked}
    after = before | {s.id for s in window}
    return bool(reference_lone_after(seats, after) - reference_lone_after(seats, before))


@settings(max_examples=300, deadline=None)
@given(room=rooms(), n=st.integers(1, 5), rule=st.booleans())
def test_best_available_is_adjacent_and_never_strands_avoidably(room, n, rule):  # type: ignore[no-untyped-def]
    seats, taken = room
    layout = seatrules.build_layout(seats)
    spot = seatrules.sweet_spot(layout, column_percent=50, row_percent=67)
    got = seatrules.best_available(layout, taken, n, spot=spot, single_seat_rule=rule)
    candidates = windows(seats, taken, n)
    allowed = [
        w for w in candidates if not rule or not reference_refuses(seats, taken, {s.id for s in w})
    ]
    if not allowed:
        assert got is None
        return
    assert got is not None
    assert len(got) == n
    assert len({s.y for s in got}) == 1
    xs = sorted(s.x for s in got)
    assert xs == list(range(xs[0], xs[0] + n))
    assert all(s.id not in taken and not s.blocked for s in got)
    if strands(seats, taken, got):
        # Stranding only when every allowed choice strands.
        assert all(strands(seats, taken, w) for w in allowed)
    # And it is what the rule lets through.
    if rule:
        assert not reference_refuses(seats, taken, {s.id for s in got})


@settings(max_examples=150, deadline=None)
@given(room=rooms(), n=st.integers(2, 5))
def test_split_is_used_only_when_no_row_has_them(room, n):  # type: ignore[no-untyped-def]
    seats, taken = room
    layout = seatrules.build_layout(seats)
    spot = seatrules.sweet_spot(layout, column_percent=50, row_percent=67)
    together = seatrules.best_available(layout, taken, n, spot=spot)
    split = seatrules.best_available(layout, taken, n, spot=spot, allow_split=True)
    if together is not None:
        assert split == together
    elif split is not None:
        assert len(split) == n
        assert len({s.id for s in split}) == n
        rows = sorted({s.y for s in split})
        assert len(rows) == 2
        assert rows[1] == rows[0] + 1
        assert all(s.id not in taken and not s.blocked for s in split)
        for y in rows:
            xs = sorted(s.x for s in split if s.y == y)
            assert xs == list(range(xs[0], xs[0] + len(xs)))
        assert not reference_refuses(seats, taken, {s.id for s in split})


def test_pair_plus_one_is_allowed_and_avoidable_gap_is_not():
    seats = [SeatInfo(id=i, label=f"A{i}", x=i - 1, y=0) for i in range(1, 6)]
    layout = seatrules.build_layout(seats)
    taken = {1, 2}  # A3 A4 A5 free: a pair plus one
    assert seatrules.gap_violations(layout, taken, {3, 4}) == []  # A5 alone, unavoidable
    assert seatrules.gap_violations(layout, taken, {4, 5}) == []  # A3 alone, unavoidable
    assert [s.label for s in seatrules.gap_violations(layout, set(), {2, 3})] == ["A1"]
    assert seatrules.gap_violations(layout, set(), {1, 2}) == []


def test_best_available_aims_at_the_sweet_spot():
    # 5 rows x 9: the centre column, two thirds back (row index 2.68 -> row D, index 3).
    seats = [
        SeatInfo(id=y * 9 + n, label=f"{chr(65 + y)}{n}", x=n - 1, y=y)
        for y in range(5)
        for n in range(1, 10)
    ]
    layout = seatrules.build_layout(seats)
    spot = seatrules.sweet_spot(layout, column_percent=50, row_percent=67)
    got = seatrules.best_available(layout, set(), 3, spot=spot)
    assert [s.label for s in got] == ["D4", "D5", "D6"]

"""The seat grid: the screen's seats endpoint, the builder endpoint and `generate_seats`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from boxoffice.catalog.models import Screen, Seat, Theater

pytestmark = pytest.mark.django_db


def rows_in_order(seats: list[dict]) -> list[str]:
    rows: list[str] = []
    for seat in seats:
        if not rows or rows[-1] != seat["row"]:
            rows.append(seat["row"])
    return rows


# --- GET /screens/{id}/seats/ -------------------------------------------------------------------


def test_seats_are_a_plain_array_in_row_and_number_order(api, screen):
    response = api.get(f"/api/v1/screens/{screen.id}/seats/")
    assert response.status_code == 200
    seats = response.json()
    assert isinstance(seats, list)  # not paginated
    assert len(seats) == 20
    assert set(seats[0]) == {
        *("id", "row", "number", "label", "tier"),
        *("kind", "companion_of", "blocked", "x", "y"),  # seat rules (issue 12)
    }
    assert [s["label"] for s in seats[:6]] == ["A1", "A2", "A3", "A4", "A5", "B1"]
    assert rows_in_order(seats) == ["A", "B", "C", "D"]
    tiers = {s["row"]: s["tier"] for s in seats}
    assert tiers == {"A": "vip", "B": "premium", "C": "standard", "D": "standard"}


def test_large_grid_is_not_paginated_and_rows_run_past_z_naturally(admin_api, api, screen):
    response = admin_api.post(
        f"/api/v1/screens/{screen.id}/seats/generate/",
        {"rows": 28, "seats_per_row": 12},
        format="json",
    )
    assert response.status_code == 201, response.content
    seats = api.get(f"/api/v1/screens/{screen.id}/seats/").json()
    assert len(seats) == 28 * 12  # above any page size
    expected = [chr(ord("A") + i) for i in range(26)] + ["AA", "AB"]
    assert rows_in_order(seats) == expected  # Z before AA, not alphabetical
    # numbers ascend numerically within a row (2 before 10)
    assert [s["number"] for s in seats if s["row"] == "C"] == list(range(1, 13))
    assert seats[-1]["label"] == "AB12"


def test_seats_of_unknown_screen_is_404(api):
    response = api.get("/api/v1/screens/999999/seats/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


# --- POST /screens/{id}/seats/generate/ --------------------------------------------------------


def test_generate_replaces_the_grid_with_tiers(admin_api, screen):
    response = admin_api.post(
        f"/api/v1/screens/{screen.id}/seats/generate/",
        {"rows": 5, "seats_per_row": 3, "tiers": {"vip": ["E"], "premium": ["C", "D"]}},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body, list)
    assert len(body) == 15
    assert [s["label"] for s in body[:4]] == ["A1", "A2", "A3", "B1"]
    stored = {(s.row, s.number): s.tier for s in Seat.objects.filter(screen=screen)}
    assert len(stored) == 15  # the old 4x5 grid is gone
    assert ("D", 5) not in stored
    assert stored[("A", 1)] == "standard"
    assert stored[("C", 2)] == "premium"
    assert stored[("D", 3)] == "premium"
    assert stored[("E", 1)] == "vip"


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"rows": 0, "seats_per_row": 5}, "rows"),
        ({"rows": 61, "seats_per_row": 5}, "rows"),
        ({"rows": -1, "seats_per_row": 5}, "rows"),
        ({"rows": 5, "seats_per_row": 0}, "seats_per_row"),
        ({"rows": 5, "seats_per_row": 101}, "seats_per_row"),
        ({"seats_per_row": 5}, "rows"),
        ({"rows": "many", "seats_per_row": 5}, "rows"),
        ({"rows": 4, "seats_per_row": 5, "tiers": {"vip": ["E"]}}, "tiers"),
        ({"rows": 4, "seats_per_row": 5, "tiers": {"vip": ["AA"]}}, "tiers"),
        ({"rows": 4, "seats_per_row": 5, "tiers": {"gold": ["A"]}}, "tiers"),
        ({"rows": 4, "seats_per_row": 5, "tiers": {"vip": ["A"], "premium": ["A"]}}, "tiers"),
        ({"rows": 4, "seats_per_row": 5, "tiers": {"vip": ["a1"]}}, None),
        ({"rows": 4, "seats_per_row": 5, "tiers": ["A"]}, None),
    ],
)
def test_generate_refuses_bad_grids(admin_api, screen, payload, attr):
    before = list(Seat.objects.filter(screen=screen).values_list("id", flat=True))
    response = admin_api.post(
        f"/api/v1/screens/{screen.id}/seats/generate/", payload, format="json"
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    if attr is not None:
        assert body["errors"][0]["attr"].split(".")[0] == attr, body
    else:
        assert body["errors"][0]["attr"].startswith("tiers"), body
    # nothing changed
    assert list(Seat.objects.filter(screen=screen).values_list("id", flat=True)) == before


def test_generate_on_unknown_screen_is_404(admin_api):
    response = admin_api.post(
        "/api/v1/screens/999999/seats/generate/", {"rows": 1, "seats_per_row": 1}, format="json"
    )
    assert response.status_code == 404


def test_generate_needs_an_admin(api, customer_api, screen):
    payload = {"rows": 1, "seats_per_row": 1}
    url = f"/api/v1/screens/{screen.id}/seats/generate/"
    assert api.post(url, payload, format="json").status_code == 401
    assert customer_api.post(url, payload, format="json").status_code == 403
    assert screen.seats.count() == 20


def test_seats_are_unique_per_screen_row_and_number(screen):
    with pytest.raises(IntegrityError), transaction.atomic():
        Seat.objects.create(screen=screen, row="A", row_index=0, number=1)
    # the same position on another screen is fine
    other = Screen.objects.create(theater=screen.theater, name="Screen 2")
    Seat.objects.create(screen=other, row="A", row_index=0, number=1)


# --- manage.py generate_seats -------------------------------------------------------------------


def test_command_builds_the_grid(screen, capsys):
    call_command("generate_seats", "Screen 1", rows=28, seats_per_row=12, vip="A", premium="B,C")
    assert "336 seats" in capsys.readouterr().out
    seats = list(Seat.objects.filter(screen=screen).order_by("row_index", "number"))
    assert len(seats) == 28 * 12
    labels = [s.label for s in seats]
    assert labels[0] == "A1"
    assert "C7" in labels
    assert "Z12" in labels
    assert "AA1" in labels
    assert labels[-1] == "AB12"
    rows = list(dict.fromkeys(s.row for s in seats))
    assert rows[24:] == ["Y", "Z", "AA", "AB"]
    tier = {s.label: s.tier for s in seats}
    assert tier["A1"] == "vip"
    assert tier["B5"] == "premium"
    assert tier["C12"] == "premium"
    assert tier["D1"] == "standard"
    assert tier["AA3"] == "standard"


def test_command_accepts_the_documented_command_line(screen):
    call_command(
        "generate_seats", "Screen 1", "--rows", "10", "--seats-per-row", "12", "--vip", "A",
        "--premium", "B,C",
    )  # fmt: skip
    assert screen.seats.count() == 120
    assert screen.seats.filter(tier="vip").count() == 12
    assert screen.seats.filter(tier="premium").count() == 24


def test_command_lays_out_aisles_wheelchair_spaces_companions_and_blocked_seats(screen):
    call_command(
        "generate_seats", "Screen 1", "--rows", "3", "--seats-per-row", "8",
        "--aisles-after", "2,6", "--wheelchair", "C1", "--companion", "C2", "--blocked", "b4",
    )  # fmt: skip
    seats = {s.label: s for s in screen.seats.all()}
    assert [seats[f"A{n}"].x for n in range(1, 9)] == [0, 1, 3, 4, 5, 6, 8, 9]
    assert seats["C1"].kind == "wheelchair"
    assert seats["C2"].kind == "companion"
    assert seats["C2"].companion_of_id == seats["C1"].pk
    assert [label for label, s in seats.items() if s.blocked] == ["B4"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"aisles_after": "2,x"}, "seat numbers"),
        ({"companion": "A2"}, "wheelchair"),  # a companion needs a wheelchair space beside it
    ],
)
def test_command_refuses_a_bad_layout_and_changes_nothing(screen, options, message):
    before = list(screen.seats.values_list("pk", flat=True))
    with pytest.raises(CommandError, match=message):
        call_command("generate_seats", "Screen 1", rows=2, seats_per_row=4, **options)
    assert list(screen.seats.values_list("pk", flat=True)) == before


def test_command_without_tiers_makes_standard_seats(screen):
    call_command("generate_seats", "Screen 1", rows=2, seats_per_row=2)
    assert sorted(screen.seats.values_list("tier", flat=True)) == ["standard"] * 4


def test_command_unknown_screen_fails(db):
    with pytest.raises(CommandError, match="No screen"):
        call_command("generate_seats", "Nope", rows=2, seats_per_row=2)


def test_command_ambiguous_screen_needs_theater(screen):
    rex = Theater.objects.create(name="Rex", timezone="Europe/Paris")
    other = Screen.objects.create(theater=rex, name="Screen 1")
    with pytest.raises(CommandError, match="--theater"):
        call_command("generate_seats", "Screen 1", rows=2, seats_per_row=2)
    call_command("generate_seats", "Screen 1", theater="Rex", rows=2, seats_per_row=3)
    assert other.seats.count() == 6
    assert screen.seats.count() == 20  # untouched


@pytest.mark.parametrize(
    "options",
    [
        {"rows": 0, "seats_per_row": 2},
        {"rows": 61, "seats_per_row": 2},
        {"rows": 2, "seats_per_row": 0},
        {"rows": 2, "seats_per_row": 2, "vip": "C"},
        {"rows": 2, "seats_per_row": 2, "vip": "A", "premium": "A"},
    ],
)
def test_command_refuses_bad_grids(screen, options):
    with pytest.raises(CommandError):
        call_command("generate_seats", "Screen 1", **options)
    assert screen.seats.count() == 20

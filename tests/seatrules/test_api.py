"""Seat rules over HTTP: the grid's aisles and kinds, blocked seats, the seat map's new fields,
best available, and each rule's 409 code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from boxoffice.booking.models import BookingSeat
from boxoffice.catalog.models import Screen, Seat
from boxoffice.catalog.services import generate_seat_grid
from tests.booking.helpers import BOOKINGS, error_codes, error_text, seat_ids
from tests.conftest import bearer, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(theater):  # type: ignore[no-untyped-def]
    """4 rows of 8, an aisle after 4: A1 a wheelchair space, A2 its companion seat. A new
    screen: the single-seat gap rule is on."""
    screen = Screen.objects.create(theater=theater, name="Rules")
    generate_seat_grid(
        screen=screen,
        rows=4,
        seats_per_row=8,
        aisles_after=[4],
        kinds={"wheelchair": ["A1"], "companion": ["A2"]},
    )
    return screen


@pytest.fixture
def show(make_showtime, room):  # type: ignore[no-untyped-def]
    return make_showtime(screen=room)


def hold_labels(client, show, *labels, **body):  # type: ignore[no-untyped-def]
    return client.post(
        BOOKINGS,
        {"showtime": show.pk, "seats": seat_ids(show, *labels), **body},
        format="json",
    )


def best(client, show, quantity, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/bookings/", {"showtime": show.pk, "quantity": quantity, **extra}, format="json"
    )


def labels_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 201, response.content
    return [seat["label"] for seat in response.json()["seats"]]


def seat_map(api, show) -> dict:  # type: ignore[no-untyped-def]
    response = api.get(f"/api/v1/showtimes/{show.pk}/seats/")
    assert response.status_code == 200
    return response.json()


# --- layout --------------------------------------------------------------------------------------


def test_new_screens_have_the_gap_rule(room):
    assert room.single_seat_rule is True


def test_aisles_make_room_in_the_drawing_and_companions_are_linked(room):
    a = {s.number: s for s in Seat.objects.filter(screen=room, row="A")}
    assert [a[n].x for n in range(1, 9)] == [0, 1, 2, 3, 5, 6, 7, 8]
    assert {s.y for s in Seat.objects.filter(screen=room, row="C")} == {2}
    assert a[1].kind == "wheelchair"
    assert a[2].kind == "companion"
    assert a[2].companion_of_id == a[1].pk


def test_grid_endpoint_takes_aisles_kinds_and_blocked(admin_api, theater):
    screen = Screen.objects.create(theater=theater, name="New")
    response = admin_api.post(
        f"/api/v1/screens/{screen.pk}/seats/generate/",
        {
            "rows": 2,
            "seats_per_row": 6,
            "aisles_after": [3],
            "kinds": {"wheelchair": ["B3"], "companion": ["B2"]},
            "blocked": ["A6"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    by_label = {s["label"]: s for s in response.json()}
    assert by_label["A4"]["x"] == 4
    assert by_label["B2"]["kind"] == "companion"
    assert by_label["B2"]["companion_of"] == by_label["B3"]["id"]
    assert by_label["A6"]["blocked"] is True


def test_companion_without_a_space_beside_it_is_400(admin_api, theater):
    screen = Screen.objects.create(theater=theater, name="New")
    response = admin_api.post(
        f"/api/v1/screens/{screen.pk}/seats/generate/",
        {
            "rows": 1,
            "seats_per_row": 6,
            "aisles_after": [3],
            "kinds": {"wheelchair": ["A3"], "companion": ["A4"]},  # the aisle is between
        },
        format="json",
    )
    assert response.status_code == 400
    assert "A4" in error_text(response)


# --- the seat map --------------------------------------------------------------------------------


def test_seat_map_has_kinds_positions_reasons_and_the_screen(api, show):
    body = seat_map(api, show)
    assert body["screen"] == {"width": 9, "rows": 4, "position": "top"}
    seats = {s["label"]: s for s in body["seats"]}
    assert (seats["A5"]["x"], seats["A5"]["y"], seats["A5"]["kind"]) == (5, 0, "standard")
    assert seats["A1"]["reason"] == "wheelchair_only"
    assert seats["A2"]["reason"] == "companion_only"
    assert "reason" not in seats["A3"]
    assert seats["A1"]["status"] == "available"  # a rule, not a sale


def test_blocking_seats_redraws_the_map_and_refuses_holds(api, admin_api, customer_api, show):
    seat_map(api, show)  # cached now
    (a7,) = seat_ids(show, "A7")
    response = admin_api.patch(
        f"/api/v1/screens/{show.screen_id}/seats/", {"seats": [a7], "blocked": True}, format="json"
    )
    assert response.status_code == 200, response.content
    seats = {s["label"]: s for s in seat_map(api, show)["seats"]}
    assert seats["A7"]["reason"] == "blocked"
    response = hold_labels(customer_api, show, "A7", "A8")
    assert response.status_code == 409
    assert error_codes(response) == ["seat_blocked"]
    assert "A7" in error_text(response)


def test_only_admins_block_seats(customer_api, show):
    (a7,) = seat_ids(show, "A7")
    response = customer_api.patch(
        f"/api/v1/screens/{show.screen_id}/seats/", {"seats": [a7], "blocked": True}, format="json"
    )
    assert response.status_code == 403


# --- named seats: the rules ----------------------------------------------------------------------


def test_wheelchair_space_needs_accessible(customer_api, show):
    response = hold_labels(customer_api, show, "A1")
    assert response.status_code == 409
    assert error_codes(response) == ["wheelchair_only"]
    assert "accessible" in error_text(response)
    response = hold_labels(customer_api, show, "A1", "A2", accessible=True)
    assert response.status_code == 201, response.content


def test_companion_seat_alone_is_refused(customer_api, show):
    response = hold_labels(customer_api, show, "A2", "A3", "A4")
    assert response.status_code == 409
    assert error_codes(response) == ["companion_only"]
    assert "A2" in error_text(response)


def test_holder_of_the_space_may_add_its_companion_later(customer_api, other_customer, show):
    # A1 alone would leave A2 alone too: A2..A4 is a free run of 3, so the space is held with
    # the companion's neighbours taken first by someone else.
    assert hold_labels(bearer(other_customer), show, "A3", "A4").status_code == 201
    both = hold_labels(customer_api, show, "A1", "A2", accessible=True)
    assert both.status_code == 201


def test_companion_by_the_spaces_holder(customer_api, other_customer, show, room):
    room.single_seat_rule = False
    room.save()
    assert hold_labels(customer_api, show, "A1", accessible=True).status_code == 201
    stranger = hold_labels(bearer(other_customer), show, "A2")
    assert error_codes(stranger) == ["companion_only"]
    assert hold_labels(customer_api, show, "A2").status_code == 201


def test_wheelchair_spaces_go_on_general_sale_before_the_show(
    api, customer_api, make_showtime, room
):
    soon = make_showtime(screen=room, starts_at=timezone.now() + timedelta(minutes=30))
    seats = {s["label"]: s for s in seat_map(api, soon)["seats"]}
    assert "reason" not in seats["A1"]
    assert "reason" not in seats["A2"]
    assert hold_labels(customer_api, soon, "A1", "A2").status_code == 201


def test_single_seat_gap_is_refused_naming_the_seat(customer_api, show):
    response = hold_labels(customer_api, show, "B2", "B3")  # B1 alone against the row's end
    assert response.status_code == 409
    assert error_codes(response) == ["single_seat_gap"]
    assert "B1" in error_text(response)
    response = hold_labels(customer_api, show, "B2", "B3", "B5")  # ... and against an aisle
    assert error_codes(response) == ["single_seat_gap"]


def test_single_seat_gap_between_taken_seats(customer_api, other_customer, show):
    assert hold_labels(bearer(other_customer), show, "C5").status_code == 201
    response = hold_labels(customer_api, show, "C7")  # C6 alone between C5 and C7
    assert error_codes(response) == ["single_seat_gap"]
    assert "C6" in error_text(response)


def test_unavoidable_gap_is_allowed(customer_api, other_customer, show):
    # D5..D8 free (the aisle on the left): D5 D6 leave the pair D7 D8.
    assert hold_labels(bearer(other_customer), show, "D5", "D6").status_code == 201
    # Of a pair, one seat leaves the other alone whichever is chosen: allowed.
    assert hold_labels(customer_api, show, "D7").status_code == 201


def test_pair_plus_one(customer_api, other_customer, show):
    assert hold_labels(bearer(other_customer), show, "B5").status_code == 201  # B6..B8 stay
    # B6 B7 B8 are a pair plus one: one seat alone whichever two are chosen: allowed.
    assert hold_labels(customer_api, show, "B6", "B7").status_code == 201


def test_one_of_three_in_the_middle_is_refused(customer_api, other_customer, show):
    assert hold_labels(bearer(other_customer), show, "B5").status_code == 201
    # One of B6 B7 B8: B6 or B8 would keep two together; B7 strands both.
    response = hold_labels(customer_api, show, "B7")
    assert error_codes(response) == ["single_seat_gap"]
    assert "B6" in error_text(response)
    assert "B8" in error_text(response)


def test_old_screens_keep_selling_without_the_rule(customer_api, showtime):
    # The shared fixture's screen is like one that existed before the rule.
    assert hold_labels(customer_api, showtime, "A2").status_code == 201


# --- best available ------------------------------------------------------------------------------


def test_best_available_holds_seats_together_at_the_sweet_spot(customer_api, show):
    # 4 rows (A..D): two thirds back is between C and D (2.01 of 0..3): row C; the centre of
    # the drawing is x 4 (the aisle), so the pair sits right beside it.
    assert labels_of(best(customer_api, show, 2)) in (["C3", "C4"], ["C5", "C6"])


def test_best_available_never_leaves_a_lone_seat(customer_api, show):
    # Blocks of 4 (the aisle): pairs always fit without stranding anyone.
    for i in range(20):
        response = best(bearer(make_user(f"u{i}")), show, 2)
        if response.status_code != 201:
            break
    taken = set(
        BookingSeat.objects.filter(showtime=show, is_live=True).values_list("seat_id", flat=True)
    )
    for seat in Seat.objects.filter(screen=show.screen):
        if seat.pk in taken:
            continue
        beside = Seat.objects.filter(
            screen=show.screen, y=seat.y, x__in=[seat.x - 1, seat.x + 1]
        ).values_list("pk", flat=True)
        assert any(pk not in taken for pk in beside), f"{seat.label} left alone"


def test_no_adjacent_seats_is_409_and_split_holds_adjacent_rows(
    customer_api, theater, make_showtime
):
    screen = Screen.objects.create(theater=theater, name="Tiny", single_seat_rule=False)
    generate_seat_grid(screen=screen, rows=2, seats_per_row=4, aisles_after=[2])
    show = make_showtime(screen=screen)
    response = best(customer_api, show, 3)
    assert response.status_code == 409
    assert error_codes(response) == ["no_adjacent_seats"]
    assert "allow_split" in error_text(response)
    got = labels_of(best(customer_api, show, 3, allow_split=True))
    assert len(got) == 3
    assert {label[0] for label in got} == {"A", "B"}


def test_best_available_by_tier(customer_api, theater, make_showtime):
    screen = Screen.objects.create(theater=theater, name="Tiers")
    generate_seat_grid(screen=screen, rows=4, seats_per_row=6, tiers={"vip": ["A"]})
    show = make_showtime(screen=screen)
    got = labels_of(best(customer_api, show, 2, tier="vip"))
    assert all(label.startswith("A") for label in got)


def test_best_available_accessible_includes_a_wheelchair_space(customer_api, show):
    got = labels_of(best(customer_api, show, 2, accessible=True))
    assert got == ["A1", "A2"]


def test_best_available_without_accessible_skips_spaces(customer_api, show):
    for i in range(12):
        response = best(bearer(make_user(f"b{i}")), show, 2)
        if response.status_code != 201:
            break
        assert not {"A1", "A2"} & set(labels_of(response))


def test_seats_or_quantity_exactly_one(customer_api, show):
    (a5,) = seat_ids(show, "A5")
    both = customer_api.post(
        "/api/v1/bookings/", {"showtime": show.pk, "seats": [a5], "quantity": 1}, format="json"
    )
    assert both.status_code == 400
    neither = customer_api.post("/api/v1/bookings/", {"showtime": show.pk}, format="json")
    assert neither.status_code == 400
    too_many = best(customer_api, show, 11)
    assert too_many.status_code == 400


def test_best_available_respects_the_per_customer_cap(customer_api, show):
    assert best(customer_api, show, 4).status_code == 201
    assert best(customer_api, show, 4).status_code == 201
    response = best(customer_api, show, 3)
    assert response.status_code == 409
    assert error_codes(response) == ["hold_limit"]

"""The waitlist over HTTP: joining a sold-out show, the queue's order, offers of freed seats
(the worker's task), paying an offer, an offer that lapses, leaving."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.waitlist import services
from boxoffice.waitlist.models import WaitlistEntry
from tests.booking.helpers import error_codes, lapse, seat_ids
from tests.conftest import bearer, make_user
from tests.support.tasks import run_worker
from tests.waitlist.helpers import entries, join, sell_out

pytestmark = pytest.mark.django_db(transaction=True)


def cancel(booking_id: int) -> None:
    """The hold's customer cancels it (through the API, as its owner)."""
    booking = Booking.objects.select_related("user").get(pk=booking_id)
    response = bearer(booking.user).post(f"/api/v1/bookings/{booking_id}/cancel/")
    assert response.status_code == 200, response.content


def test_join_a_sold_out_show_answers_the_entry_with_its_place(customer_api, showtime):
    sell_out(showtime)
    response = join(customer_api, showtime, 2)
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("showtime", "quantity", "position", "status")} == {
        "showtime": showtime.pk,
        "quantity": 2,
        "position": 1,
        "status": "waiting",
    }
    assert body["offer"] is None
    second = join(bearer(make_user("carol")), showtime, 1).json()
    assert second["position"] == 2
    listed = entries(customer_api)
    assert [e["id"] for e in listed] == [body["id"]]
    assert listed[0]["position"] == 1


def test_join_is_refused_while_seats_together_are_on_sale(customer_api, showtime):
    response = join(customer_api, showtime, 2)
    assert response.status_code == 409
    assert error_codes(response) == ["seats_available"]
    assert WaitlistEntry.objects.count() == 0


def test_scattered_single_seats_do_not_make_a_party_of_two_fit(customer_api, showtime):
    held = sell_out(showtime)
    cancel(held["A"])  # row A free again: 5 together
    buyer = bearer(make_user("scatter"))
    # Leave A1, A3, A5 free: single seats only.
    assert (
        buyer.post(
            "/api/v1/bookings/",
            {"showtime": showtime.pk, "seats": seat_ids(showtime, "A2", "A4")},
            format="json",
        ).status_code
        == 201
    )
    assert error_codes(join(customer_api, showtime, 1)) == ["seats_available"]
    assert join(customer_api, showtime, 2).status_code == 201


@pytest.mark.parametrize("quantity", [0, 11, -1, "two", None])
def test_a_quantity_outside_one_to_the_cap_is_400(customer_api, showtime, quantity):
    sell_out(showtime)
    response = join(customer_api, showtime, quantity)
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "quantity"
    assert WaitlistEntry.objects.count() == 0


def test_one_active_entry_per_customer_and_show(customer_api, showtime):
    sell_out(showtime)
    assert join(customer_api, showtime, 2).status_code == 201
    again = join(customer_api, showtime, 3)
    assert again.status_code == 409
    assert error_codes(again) == ["already_waiting"]


def test_a_cancelled_started_or_unknown_show_is_refused(customer_api, admin_api, showtime):
    sell_out(showtime)
    assert join(customer_api, 999999, 1).status_code == 404
    admin_api.post(f"/api/v1/showtimes/{showtime.pk}/cancel/", {"reason": "flood"}, format="json")
    assert error_codes(join(customer_api, showtime, 1)) == ["show_cancelled"]


def test_a_started_show_is_refused(customer_api, make_showtime):
    show = make_showtime(starts_at=timezone.now() + timedelta(hours=2))
    sell_out(show)
    type(show).objects.filter(pk=show.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    assert error_codes(join(customer_api, show, 1)) == ["show_started"]


def test_signed_out_clients_get_401(api, showtime):
    assert join(api, showtime, 1).status_code == 401
    assert api.get("/api/v1/waitlist/").status_code == 401


def test_freed_seats_are_offered_to_the_first_entry_whose_party_fits(customer_api, showtime):
    held = sell_out(showtime)
    four = bearer(make_user("four"))
    assert join(four, showtime, 4).status_code == 201  # first in the queue
    entry = join(customer_api, showtime, 2).json()  # second
    mail.outbox = []
    cancel(held["B"])  # all of row B free: 5 together -> the party of 4 first
    run_worker()
    four_entry = entries(four)[0]
    assert four_entry["status"] == "offered"
    offer = four.get(f"/api/v1/bookings/{four_entry['offer']}/").json()
    assert offer["status"] == "pending"
    assert offer["waitlist_entry"] == four_entry["id"]
    assert len(offer["seats"]) == 4
    # The remaining single seat of row B fits nobody: the party of 2 keeps waiting, first now.
    mine = entries(customer_api)[0]
    assert (mine["status"], mine["position"]) == ("waiting", 1)
    # The offer is held for WAITLIST_OFFER_MINUTES (30), not BOOKING_HOLD_SECONDS.
    expires = Booking.objects.get(pk=offer["id"]).expires_at
    assert timedelta(minutes=29) < expires - timezone.now() <= timedelta(minutes=30)
    # And emailed with a link to pay: the shop's checkout page of that booking.
    (sent,) = [m for m in mail.outbox if m.to == ["four@example.com"]]
    assert f"/checkout/{offer['id']}/" in sent.body
    assert entry["id"] != four_entry["id"]


def test_an_entry_that_does_not_fit_does_not_block_the_one_behind(customer_api, showtime):
    held = sell_out(showtime)
    assert join(bearer(make_user("four")), showtime, 4).status_code == 201
    join(customer_api, showtime, 2)
    # Row C comes free, and a buyer takes three of it: two seats together are left.
    cancel(held["C"])
    buyer = bearer(make_user("late"))
    assert (
        buyer.post(
            "/api/v1/bookings/",
            {"showtime": showtime.pk, "seats": seat_ids(showtime, "C1", "C2", "C3")},
            format="json",
        ).status_code
        == 201
    )
    run_worker()
    mine = entries(customer_api)[0]
    assert mine["status"] == "offered"
    offer = Booking.objects.get(pk=mine["offer"])
    labels = sorted(
        BookingSeat.objects.filter(booking=offer).values_list("seat__row", "seat__number")
    )
    assert labels == [("C", 4), ("C", 5)]


def test_a_paid_offer_ends_the_entry_booked(customer_api, customer, showtime):
    from boxoffice.payments import services as payments
    from tests.payments.helpers import pay, start_paying

    held = sell_out(showtime)
    join(customer_api, showtime, 2)
    cancel(held["D"])
    run_worker()
    entry = entries(customer_api)[0]
    assert start_paying(customer_api, entry["offer"]).status_code == 200
    assert pay(entry["offer"]) == "succeeded"
    intent = Booking.objects.get(pk=entry["offer"]).payment_intent_id
    payments.settle_payment_intent(intent)
    assert entries(customer_api)[0]["status"] == "booked"  # as its offer says, at once
    services.sweep()
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "booked"  # and recorded
    # Leaving a booked entry changes nothing: the booking is cancelled as a booking.
    assert customer_api.delete(f"/api/v1/waitlist/{entry['id']}/").status_code == 204
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "booked"
    assert customer_api.get(f"/api/v1/bookings/{entry['offer']}/").json()["status"] == "confirmed"


def test_an_offer_not_paid_in_time_lapses_and_goes_to_the_next_entry(customer_api, showtime):
    held = sell_out(showtime)
    first = bearer(make_user("first"))
    join(first, showtime, 2)
    join(customer_api, showtime, 2)
    cancel(held["A"])
    run_worker()
    first_entry = entries(first)[0]
    assert first_entry["status"] == "offered"
    # Row A had 5 free: the second party of 2 fits beside the first offer, and is offered too.
    second = entries(customer_api)[0]
    assert second["status"] == "offered"
    # The first offer's hold lapses: it reads lapsed at once, and the sweep ends it so.
    lapse(first_entry["offer"])
    assert entries(first)[0]["status"] == "lapsed"
    third = bearer(make_user("third"))
    services.sweep()
    assert WaitlistEntry.objects.get(pk=first_entry["id"]).status == "lapsed"
    # A late join after seats lapsed back is refused: 2 together are on sale again.
    assert error_codes(join(third, showtime, 2)) == ["seats_available"]


def test_lapsed_offer_seats_go_to_the_next_waiting_entry(customer_api, showtime):
    held = sell_out(showtime)
    first = bearer(make_user("first"))
    join(first, showtime, 5)
    cancel(held["A"])
    run_worker()
    first_entry = entries(first)[0]
    assert first_entry["status"] == "offered"
    join(customer_api, showtime, 3)  # sold out again: joins behind nobody
    lapse(first_entry["offer"])
    services.sweep()  # the housekeeping sweep: a hold lapsed by time, no write at all
    mine = entries(customer_api)[0]
    assert mine["status"] == "offered"
    assert entries(first)[0]["status"] == "lapsed"
    assert len(Booking.objects.get(pk=mine["offer"]).seats.all()) == 3


def test_leaving_ends_the_offer_and_its_seats_go_to_the_next(customer_api, showtime):
    held = sell_out(showtime)
    first = bearer(make_user("first"))
    join(first, showtime, 5)
    join(customer_api, showtime, 5)
    cancel(held["B"])
    run_worker()
    first_entry = entries(first)[0]
    assert first_entry["status"] == "offered"
    assert first.delete(f"/api/v1/waitlist/{first_entry['id']}/").status_code == 204
    assert entries(first)[0]["status"] == "left"
    assert Booking.objects.get(pk=first_entry["offer"]).status == "cancelled"
    run_worker()
    assert entries(customer_api)[0]["status"] == "offered"


def test_leaving_someone_elses_entry_is_404_and_changes_nothing(customer_api, showtime):
    sell_out(showtime)
    entry = join(customer_api, showtime, 2).json()
    other = bearer(make_user("mallory"))
    assert other.delete(f"/api/v1/waitlist/{entry['id']}/").status_code == 404
    assert customer_api.delete("/api/v1/waitlist/999999/").status_code == 404
    assert customer_api.delete("/api/v1/waitlist/null,null/").status_code == 404
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "waiting"
    assert customer_api.delete(f"/api/v1/waitlist/{entry['id']}/").status_code == 204
    assert customer_api.delete(f"/api/v1/waitlist/{entry['id']}/").status_code == 204  # again
    assert join(customer_api, showtime, 2).status_code == 201  # may join again, at the back


def test_a_cancelled_show_ends_its_entries(customer_api, admin_api, showtime):
    sell_out(showtime)
    entry = join(customer_api, showtime, 2).json()
    response = admin_api.post(
        f"/api/v1/showtimes/{showtime.pk}/cancel/", {"reason": "flood"}, format="json"
    )
    assert response.status_code == 200
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "ended"


def test_a_started_show_ends_its_entries(customer_api, make_showtime):
    show = make_showtime(starts_at=timezone.now() + timedelta(hours=2))
    sell_out(show)
    entry = join(customer_api, show, 2).json()
    type(show).objects.filter(pk=show.pk).update(starts_at=timezone.now() - timedelta(minutes=1))
    assert entries(customer_api)[0]["status"] == "ended"
    services.sweep()
    assert WaitlistEntry.objects.get(pk=entry["id"]).status == "ended"


def test_the_list_is_paginated_and_only_the_customers_own(customer_api, showtime):
    sell_out(showtime)
    join(customer_api, showtime, 2)
    join(bearer(make_user("zed")), showtime, 2)
    body = customer_api.get("/api/v1/waitlist/").json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1


def test_an_unblocked_seat_is_offered(customer_api, admin_api, screen, make_showtime):
    row_a = seat_ids(screen, "A4", "A5")
    response = admin_api.patch(
        f"/api/v1/screens/{screen.pk}/seats/", {"seats": row_a, "blocked": True}, format="json"
    )
    assert response.status_code == 200, response.content
    show = make_showtime()
    sell_out_but(show, blocked=("A4", "A5"))  # A4 and A5 are not for sale: sold out
    entry = join(customer_api, show, 2).json()
    response = admin_api.patch(
        f"/api/v1/screens/{screen.pk}/seats/", {"seats": row_a, "blocked": False}, format="json"
    )
    assert response.status_code == 200, response.content
    run_worker()
    mine = entries(customer_api)[0]
    assert (mine["id"], mine["status"]) == (entry["id"], "offered")
    offer = Booking.objects.get(pk=mine["offer"])
    assert sorted(offer.seats.values_list("seat_id", flat=True)) == sorted(row_a)


def sell_out_but(show, *, blocked):  # type: ignore[no-untyped-def]
    """Every seat held by other customers except the blocked ones (not for sale)."""
    held = []
    for row in "ABCD":
        labels = [f"{row}{n}" for n in range(1, 6) if f"{row}{n}" not in blocked]
        buyer = bearer(make_user(f"b{row.lower()}{show.pk}"))
        response = buyer.post(
            "/api/v1/bookings/",
            {"showtime": show.pk, "seats": seat_ids(show, *labels)},
            format="json",
        )
        assert response.status_code == 201, response.content
        held.append(response.json()["id"])
    return held

"""Booking list, detail and cancel; confirmation (payments come later, so the service is called
directly); the state machine."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from boxoffice.booking import services, states
from boxoffice.booking.models import Booking, BookingSeat, BookingStatus
from tests.conftest import bearer, future, make_user

from .helpers import (
    BOOKINGS,
    error_codes,
    hold_labels,
    lapse,
    live_rows,
    seat_ids,
    seats_available,
    statuses,
)

pytestmark = pytest.mark.django_db

Outcome = services.PaymentOutcome


def book(client, showtime, *labels) -> int:  # type: ignore[no-untyped-def]
    response = hold_labels(client, showtime, *labels)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def confirm(booking_id: int) -> services.PaymentOutcome:
    booking = Booking.objects.get(pk=booking_id)
    return services.record_payment(booking=booking, amount=booking.total).outcome


def ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    body = response.json()
    assert {"count", "next", "previous", "results"} <= set(body)
    return [row["id"] for row in body["results"]]


# --- list and detail ------------------------------------------------------------------------


def test_customers_list_only_their_own(customer_api, other_customer, showtime):
    mine = book(customer_api, showtime, "A1")
    theirs = book(bearer(other_customer), showtime, "A2")

    assert ids(customer_api.get(BOOKINGS)) == [mine]
    assert ids(bearer(other_customer).get(BOOKINGS)) == [theirs]
    # Asking for someone else's bookings does not widen the list.
    assert ids(customer_api.get(BOOKINGS, {"user": other_customer.pk})) in ([], [mine])
    assert theirs not in ids(customer_api.get(BOOKINGS, {"user": other_customer.pk}))


def test_list_requires_sign_in(api, db):
    assert api.get(BOOKINGS).status_code == 401


def test_others_booking_is_404_for_detail_and_cancel(customer_api, other_customer, showtime):
    theirs = book(bearer(other_customer), showtime, "A2")

    assert customer_api.get(f"{BOOKINGS}{theirs}/").status_code == 404
    assert customer_api.post(f"{BOOKINGS}{theirs}/cancel/").status_code == 404
    assert Booking.objects.get(pk=theirs).status == BookingStatus.PENDING
    assert live_rows(showtime) == 1


def test_detail_for_owner_and_admin(customer_api, admin_api, showtime):
    mine = book(customer_api, showtime, "B3")
    for client in (customer_api, admin_api):
        body = client.get(f"{BOOKINGS}{mine}/").json()
        assert body["id"] == mine
        assert body["status"] == "pending"
        assert [s["label"] for s in body["seats"]] == ["B3"]
        assert body["paid_amount"] == "0.00"
        assert body["refunded_amount"] == "0.00"
        assert body["tickets"] == []


def test_admin_lists_all_and_filters(
    admin_api, customer_api, customer, other_customer, make_showtime
):
    first = make_showtime(starts_at=future(days=1, hour=10))
    second = make_showtime(starts_at=future(days=1, hour=19))
    a = book(customer_api, first, "A1")
    b = book(customer_api, second, "A1")
    c = book(bearer(other_customer), first, "A2")
    d = book(bearer(other_customer), second, "A2")
    assert confirm(b) == Outcome.CONFIRMED
    assert customer_api.post(f"{BOOKINGS}{c}/cancel/").status_code == 404  # not hers
    assert bearer(other_customer).post(f"{BOOKINGS}{c}/cancel/").status_code == 200
    lapse(d)

    assert set(ids(admin_api.get(BOOKINGS))) == {a, b, c, d}
    assert set(ids(admin_api.get(BOOKINGS, {"user": customer.pk}))) == {a, b}
    assert set(ids(admin_api.get(BOOKINGS, {"user": other_customer.pk}))) == {c, d}
    assert set(ids(admin_api.get(BOOKINGS, {"showtime": first.pk}))) == {a, c}
    assert set(ids(admin_api.get(BOOKINGS, {"status": "pending"}))) == {a}
    assert set(ids(admin_api.get(BOOKINGS, {"status": "confirmed"}))) == {b}
    assert set(ids(admin_api.get(BOOKINGS, {"status": "cancelled"}))) == {c}
    # d lapsed by time only (its row still says pending): it is listed as expired.
    assert set(ids(admin_api.get(BOOKINGS, {"status": "expired"}))) == {d}
    both = admin_api.get(BOOKINGS, {"user": customer.pk, "showtime": second.pk})
    assert ids(both) == [b]
    assert admin_api.get(BOOKINGS, {"status": "bogus"}).status_code == 400


def test_clients_cannot_write_the_status(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    url = f"{BOOKINGS}{mine}/"
    assert customer_api.patch(url, {"status": "confirmed"}, format="json").status_code == 405
    assert (
        customer_api.put(
            url, {"status": "confirmed", "showtime": showtime.pk, "seats": []}, format="json"
        ).status_code
        == 405
    )
    assert customer_api.delete(url).status_code == 405
    assert Booking.objects.get(pk=mine).status == BookingStatus.PENDING


def test_status_in_the_create_body_is_ignored(customer_api, showtime):
    response = customer_api.post(
        BOOKINGS,
        {"showtime": showtime.pk, "seats": seat_ids(showtime, "A1"), "status": "confirmed"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "pending"
    assert Booking.objects.get(pk=response.json()["id"]).status == BookingStatus.PENDING


def test_lapsed_pending_booking_reads_expired(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    lapse(mine)
    assert customer_api.get(f"{BOOKINGS}{mine}/").json()["status"] == "expired"
    assert customer_api.get(BOOKINGS).json()["results"][0]["status"] == "expired"


# --- cancel ---------------------------------------------------------------------------------


def test_cancel_pending_releases_the_seats(api, customer_api, showtime):
    mine = book(customer_api, showtime, "A1", "B1")
    assert seats_available(api, showtime) == 18
    assert statuses(api, showtime)["A1"] == "held"

    response = customer_api.post(f"{BOOKINGS}{mine}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert statuses(api, showtime)["A1"] == statuses(api, showtime)["B1"] == "available"
    assert seats_available(api, showtime) == 20
    assert live_rows(showtime) == 0
    # The seats can be held again at once.
    assert hold_labels(bearer(make_user("carol")), showtime, "A1", "B1").status_code == 201


def test_cancel_twice_is_409(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200
    again = customer_api.post(f"{BOOKINGS}{mine}/cancel/")
    assert again.status_code == 409
    assert Booking.objects.get(pk=mine).status == BookingStatus.CANCELLED


def test_cancel_expired_is_409(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    lapse(mine)
    response = customer_api.post(f"{BOOKINGS}{mine}/cancel/")
    assert response.status_code == 409
    assert customer_api.get(f"{BOOKINGS}{mine}/").json()["status"] == "expired"


def test_admin_can_cancel_anyones_booking(admin_api, customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    assert admin_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200
    assert customer_api.get(f"{BOOKINGS}{mine}/").json()["status"] == "cancelled"


def test_cancel_confirmed_before_the_cutoff(api, customer_api, showtime):
    mine = book(customer_api, showtime, "C1")
    assert confirm(mine) == Outcome.CONFIRMED
    assert statuses(api, showtime)["C1"] == "booked"

    response = customer_api.post(f"{BOOKINGS}{mine}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert statuses(api, showtime)["C1"] == "available"
    assert seats_available(api, showtime) == 20


def test_cancel_confirmed_after_the_cutoff_is_409(api, customer_api, make_showtime):
    # Starts in 30 minutes: inside the default 60-minute cut-off.
    soon = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    mine = book(customer_api, soon, "C1")
    assert confirm(mine) == Outcome.CONFIRMED

    response = customer_api.post(f"{BOOKINGS}{mine}/cancel/")

    assert response.status_code == 409
    assert Booking.objects.get(pk=mine).status == BookingStatus.CONFIRMED
    assert statuses(api, soon)["C1"] == "booked"


def test_cutoff_is_a_setting(customer_api, showtime, settings):
    # The show is tomorrow evening; a two-day cut-off has already passed.
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 2 * 24 * 60
    mine = book(customer_api, showtime, "C1")
    assert confirm(mine) == Outcome.CONFIRMED
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 409
    settings.BOOKING_CANCEL_CUTOFF_MINUTES = 60
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200


def test_pending_can_be_cancelled_inside_the_cutoff(customer_api, make_showtime):
    soon = make_showtime(starts_at=timezone.now() + timedelta(minutes=30))
    mine = book(customer_api, soon, "C1")
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200


# --- confirmation (called directly: the payments issue wires it to Stripe) -------------------


def test_confirm_while_held(api, customer_api, showtime):
    mine = book(customer_api, showtime, "A1", "A2")
    assert confirm(mine) == Outcome.CONFIRMED
    body = customer_api.get(f"{BOOKINGS}{mine}/").json()
    assert body["status"] == "confirmed"
    assert body["paid_amount"] == "30.00"
    rows = BookingSeat.objects.filter(booking_id=mine)
    assert all(r.is_live and r.hold_expires_at is None for r in rows)
    assert statuses(api, showtime)["A1"] == "booked"


def test_confirm_twice_is_already_confirmed(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    assert confirm(mine) == Outcome.CONFIRMED
    assert confirm(mine) == Outcome.ALREADY_CONFIRMED
    assert Booking.objects.get(pk=mine).status == BookingStatus.CONFIRMED


def test_confirm_after_expiry_with_seats_still_free(api, customer_api, showtime):
    mine = book(customer_api, showtime, "A1", "B1")
    lapse(mine, ago=timedelta(minutes=5))
    assert statuses(api, showtime)["A1"] == "available"

    assert confirm(mine) == Outcome.CONFIRMED

    assert customer_api.get(f"{BOOKINGS}{mine}/").json()["status"] == "confirmed"
    assert statuses(api, showtime)["A1"] == statuses(api, showtime)["B1"] == "booked"
    assert live_rows(showtime) == 2


def test_confirm_after_expiry_when_a_seat_was_taken(api, customer_api, other_customer, showtime):
    mine = book(customer_api, showtime, "A1", "B1")
    lapse(mine)
    theirs = book(bearer(other_customer), showtime, "B1")

    assert confirm(mine) == Outcome.REFUND_DUE

    assert Booking.objects.get(pk=mine).status != BookingStatus.CONFIRMED
    assert customer_api.get(f"{BOOKINGS}{mine}/").json()["status"] != "confirmed"
    # The other customer's hold is intact, and A1 (not taken) was not kept for the loser.
    assert bearer(other_customer).get(f"{BOOKINGS}{theirs}/").json()["status"] == "pending"
    b1 = seat_ids(showtime, "B1")[0]
    assert list(
        BookingSeat.objects.filter(showtime=showtime, seat_id=b1, is_live=True).values_list(
            "booking_id", flat=True
        )
    ) == [theirs]
    now = statuses(api, showtime)
    assert now["B1"] == "held"
    assert now["A1"] == "available"


def test_cancelled_booking_is_not_revived_by_a_late_confirm(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200
    assert confirm(mine) == Outcome.REFUND_DUE
    assert Booking.objects.get(pk=mine).status == BookingStatus.CANCELLED
    assert live_rows(showtime) == 0


def test_tidy_up_marks_lapsed_bookings_expired(customer_api, showtime):
    running = book(customer_api, showtime, "A1")
    lapsed = book(customer_api, showtime, "A2")
    lapse(lapsed)

    assert services.expire_bookings() == 1

    assert Booking.objects.get(pk=lapsed).status == BookingStatus.EXPIRED
    assert Booking.objects.get(pk=running).status == BookingStatus.PENDING
    assert live_rows(showtime) == 1
    assert services.expire_bookings() == 0


# --- the state machine ----------------------------------------------------------------------


@pytest.mark.parametrize("target", [BookingStatus.EXPIRED, BookingStatus.PENDING])
def test_state_machine_refuses_moving_a_confirmed_booking_back(customer_api, showtime, target):
    mine = book(customer_api, showtime, "A1")
    assert confirm(mine) == Outcome.CONFIRMED
    booking = Booking.objects.get(pk=mine)

    with pytest.raises(states.TransitionRefused):
        states.transition(booking, target)

    assert Booking.objects.get(pk=mine).status == BookingStatus.CONFIRMED


def test_state_machine_refuses_reviving_a_cancelled_booking(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    assert customer_api.post(f"{BOOKINGS}{mine}/cancel/").status_code == 200
    booking = Booking.objects.get(pk=mine)
    for target in (BookingStatus.PENDING, BookingStatus.CONFIRMED, BookingStatus.EXPIRED):
        with pytest.raises(states.TransitionRefused):
            states.transition(booking, target)
    assert Booking.objects.get(pk=mine).status == BookingStatus.CANCELLED


def test_state_machine_checks_the_database_row_not_the_instance(customer_api, showtime):
    """A stale in-memory copy saying "pending" cannot expire a booking confirmed meanwhile."""
    mine = book(customer_api, showtime, "A1")
    stale = Booking.objects.get(pk=mine)
    assert confirm(mine) == Outcome.CONFIRMED
    assert stale.status == BookingStatus.PENDING
    with pytest.raises(states.TransitionRefused):
        states.transition(stale, BookingStatus.EXPIRED)
    assert Booking.objects.get(pk=mine).status == BookingStatus.CONFIRMED


def test_a_refused_transition_reaching_a_view_is_a_409_not_a_500(customer_api, showtime):
    """Two conflicting state changes: the booking is confirmed while a view still holds a
    pending copy and expires it. The refusal is a Conflict (409 ``invalid_transition``) in the
    standard body, and the booking stays confirmed."""
    from rest_framework.permissions import AllowAny
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    mine = book(customer_api, showtime, "A1")
    stale = Booking.objects.get(pk=mine)
    assert confirm(mine) == Outcome.CONFIRMED

    class ExpireView(APIView):
        permission_classes = [AllowAny]

        def post(self, request):  # type: ignore[no-untyped-def]
            states.transition(stale, BookingStatus.EXPIRED)

    response = ExpireView.as_view()(APIRequestFactory().post("/"))
    assert response.status_code == 409
    assert response.data["type"] == "client_error"
    [error] = response.data["errors"]
    assert error["code"] == "invalid_transition"
    assert error["attr"] is None
    assert "confirmed" in error["detail"]
    assert Booking.objects.get(pk=mine).status == BookingStatus.CONFIRMED


def test_cancel_error_codes_say_why(customer_api, showtime):
    mine = book(customer_api, showtime, "A1")
    lapse(mine)
    assert error_codes(customer_api.post(f"{BOOKINGS}{mine}/cancel/")) == ["booking_expired"]
    assert Decimal(customer_api.get(f"{BOOKINGS}{mine}/").json()["total"]) == Decimal("15.00")


def test_confirm_after_expiry_releases_another_lapsed_hold_on_the_seat(
    api, customer_api, other_customer, showtime
):
    """The seat went to someone else whose hold lapsed too: it is free, so the late payment
    gets it (their lapsed row must be released, not taken as a live claim)."""
    mine = book(customer_api, showtime, "A1", "B1")
    lapse(mine, ago=timedelta(minutes=5))
    theirs = book(bearer(other_customer), showtime, "B1")
    lapse(theirs)

    assert confirm(mine) == Outcome.CONFIRMED

    assert statuses(api, showtime)["B1"] == "booked"
    assert bearer(other_customer).get(f"{BOOKINGS}{theirs}/").json()["status"] == "expired"
    assert live_rows(showtime) == 2


@pytest.mark.parametrize("query", ["user=-3.4e272", "showtime=5.1e16", "user=99999999999999999999"])
def test_id_filters_refuse_numbers_no_id_can_be(admin_api, query):
    """Found by the schema fuzzer: a float this large overflowed SQLite's integer (500)."""
    response = admin_api.get(f"{BOOKINGS}?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == query.split("=")[0]

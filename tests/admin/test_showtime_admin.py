"""The admin site is a second door to the scheduling rules (docs/api.md): shows added or
edited there go through the same service (ends_at computed, overlaps refused as form errors,
never a 500), times are the theatre's own, cancelling refunds, bookings protect a show.

Fast tests through Django's test client; tests/admin/test_browser.py drives the same pages in
Chromium."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.catalog.models import Movie, Screen, Theater
from boxoffice.schedule.models import Showtime, ShowtimeStatus
from tests.admin.conftest import book
from tests.conftest import future

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
ADD = "/admin/schedule/showtime/add/"


def change_url(showtime: Showtime) -> str:
    return reverse("admin:schedule_showtime_change", args=[showtime.pk])


def form_data(movie: Movie, screen: Screen, local: datetime, **extra: str) -> dict[str, str]:
    """The add/change form as a browser posts it: starts_at as the theatre's wall-clock time."""
    return {
        "movie": str(movie.pk),
        "screen": str(screen.pk),
        "starts_at_0": local.strftime("%Y-%m-%d"),
        "starts_at_1": local.strftime("%H:%M:%S"),
        "base_price": "10.00",
        "currency": "",
        **extra,
    }


def errors_of(response) -> str:  # type: ignore[no-untyped-def]
    """All the errors the admin form shows (field and non-field), as one string."""
    form = response.context["adminform"].form
    return " ".join(str(e) for errs in form.errors.values() for e in errs)


def test_add_goes_through_the_service_in_the_theatres_time(boss_client, movie, screen):
    local = future(days=10, hour=19).replace(tzinfo=None)  # 19:00 on a Berlin wall clock
    response = boss_client.post(ADD, form_data(movie, screen, local))
    assert response.status_code == 302, errors_of(response)
    show = Showtime.objects.get()
    assert show.starts_at == local.replace(tzinfo=BERLIN)
    assert show.ends_at == show.starts_at + timedelta(minutes=120)
    assert show.blocked_until == show.ends_at + timedelta(minutes=15)
    assert show.status == ShowtimeStatus.SCHEDULED


def test_add_takes_the_theatres_currency_unless_one_is_given(boss_client, movie, screen):
    Theater.objects.filter(pk=screen.theater_id).update(currency="eur")
    local = future(days=10, hour=15).replace(tzinfo=None)
    assert boss_client.post(ADD, form_data(movie, screen, local)).status_code == 302
    assert Showtime.objects.get().currency == "eur"
    later = local + timedelta(hours=5)
    assert boss_client.post(ADD, form_data(movie, screen, later, currency="GBP")).status_code == 302
    assert Showtime.objects.latest("starts_at").currency == "gbp"


def test_overlapping_add_is_a_form_error_naming_the_show(boss_client, movie, screen, showtime):
    local = showtime.starts_at.astimezone(BERLIN).replace(tzinfo=None) + timedelta(hours=1)
    response = boss_client.post(ADD, form_data(movie, screen, local))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "starts_at" in form.errors
    message = errors_of(response)
    assert f"show {showtime.pk}" in message
    assert "Metropolis" in message
    assert Showtime.objects.count() == 1


def test_a_past_start_is_a_form_error(boss_client, movie, screen):
    local = future(days=-2, hour=19).replace(tzinfo=None)
    response = boss_client.post(ADD, form_data(movie, screen, local))
    assert response.status_code == 200
    assert "past" in errors_of(response)
    assert not Showtime.objects.exists()


def test_a_wall_clock_time_that_does_not_exist_is_refused(boss_client, movie, screen):
    """02:30 on the last Sunday of March never happens in Berlin (clocks jump to 03:00)."""
    year = datetime.now().year + 1
    march_31 = datetime(year, 3, 31)
    sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    response = boss_client.post(ADD, form_data(movie, screen, sunday.replace(hour=2, minute=30)))
    assert response.status_code == 200
    assert "Europe/Berlin" in errors_of(response)
    assert not Showtime.objects.exists()


def test_the_form_has_no_status_and_shows_local_times(boss_client, showtime):
    response = boss_client.get(change_url(showtime))
    form = response.context["adminform"].form
    assert "status" not in form.fields
    assert "ends_at" not in form.fields
    local = showtime.starts_at.astimezone(BERLIN)
    # The wall-clock value offered for editing is the theatre's, not UTC's.
    assert form["starts_at"].value() == local.replace(tzinfo=None)
    html = response.content.decode()
    assert "Europe/Berlin" in html
    assert local.strftime("%H:%M") in html


def test_the_changelist_lists_local_start_times(boss_client, showtime):
    response = boss_client.get("/admin/schedule/showtime/")
    html = response.content.decode()
    local = showtime.starts_at.astimezone(BERLIN)
    assert f"{local:%Y-%m-%d %H:%M}" in html
    assert "Europe/Berlin" in html


def test_moving_a_show_onto_another_is_refused(boss_client, make_showtime, movie, screen):
    early = make_showtime(starts_at=future(days=3, hour=14))
    late = make_showtime(starts_at=future(days=3, hour=19))
    onto = late.starts_at.astimezone(BERLIN).replace(tzinfo=None) + timedelta(minutes=30)
    response = boss_client.post(change_url(early), form_data(movie, screen, onto))
    assert response.status_code == 200
    assert f"show {late.pk}" in errors_of(response)
    early.refresh_from_db()
    assert early.starts_at == future(days=3, hour=14)


def test_an_edit_recomputes_ends_at(boss_client, showtime, screen):
    longer = Movie.objects.create(title="Greed", duration_minutes=240)
    local = showtime.starts_at.astimezone(BERLIN).replace(tzinfo=None)
    response = boss_client.post(change_url(showtime), form_data(longer, screen, local))
    assert response.status_code == 302, errors_of(response)
    showtime.refresh_from_db()
    assert showtime.movie == longer
    assert showtime.ends_at == showtime.starts_at + timedelta(minutes=240)


@pytest.mark.parametrize(
    ("price", "currency", "refusal"),
    [
        ("12.345", "usd", "decimal places"),  # finer than a cent: the form field refuses it
        ("12.50", "jpy", "whole number for JPY"),  # half a yen: the money rule refuses it
        ("1500.50", "isk", "whole number for ISK"),  # Stripe charges whole kronur only
    ],
)
def test_a_price_finer_than_the_currency_is_refused_on_its_field(
    boss_client, movie, screen, price, currency, refusal
):
    """The same rule as the API (core.money.require_whole_quantum): no show is saved at a
    price that could not be charged."""
    local = future(days=10, hour=19).replace(tzinfo=None)
    data = form_data(movie, screen, local, base_price=price, currency=currency)
    response = boss_client.post(ADD, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert refusal in " ".join(form.errors.get("base_price", [])), form.errors
    assert not Showtime.objects.exists()


def test_a_whole_yen_price_is_accepted(boss_client, movie, screen):
    local = future(days=10, hour=19).replace(tzinfo=None)
    data = form_data(movie, screen, local, base_price="1500", currency="jpy")
    response = boss_client.post(ADD, data)
    assert response.status_code == 302, errors_of(response)
    assert Showtime.objects.get().base_price == Decimal("1500")


def test_a_blank_currency_checks_the_price_in_the_currency_it_will_have(
    boss_client, movie, screen, showtime
):
    """Blank means the theatre's currency for a new show, the show's own for an edit."""
    Theater.objects.filter(pk=screen.theater_id).update(currency="jpy")
    local = future(days=12, hour=19).replace(tzinfo=None)
    added = boss_client.post(ADD, form_data(movie, screen, local, base_price="12.50"))
    assert added.status_code == 200
    assert "whole number for JPY" in errors_of(added)
    Showtime.objects.filter(pk=showtime.pk).update(currency="jpy", base_price=Decimal("1500"))
    showtime.refresh_from_db()
    at = showtime.starts_at.astimezone(BERLIN).replace(tzinfo=None)
    edited = boss_client.post(change_url(showtime), form_data(movie, screen, at, base_price="0.5"))
    assert edited.status_code == 200
    assert "whole number for JPY" in errors_of(edited)
    showtime.refresh_from_db()
    assert showtime.base_price == Decimal("1500")
    assert Showtime.objects.count() == 1


def test_a_booked_show_keeps_its_start_but_its_price_may_change(
    boss_client, showtime, movie, screen, customer
):
    book(showtime, customer)
    local = showtime.starts_at.astimezone(BERLIN).replace(tzinfo=None)
    moved = boss_client.post(change_url(showtime), form_data(movie, screen, local + timedelta(1)))
    assert moved.status_code == 200
    assert "cancel" in errors_of(moved).lower()
    priced = boss_client.post(
        change_url(showtime), form_data(movie, screen, local, base_price="12.00")
    )
    assert priced.status_code == 302, errors_of(priced)
    showtime.refresh_from_db()
    assert showtime.base_price == Decimal("12.00")
    assert showtime.starts_at == local.replace(tzinfo=BERLIN)


def test_the_change_page_links_to_the_shows_bookings(
    boss_client, make_showtime, showtime, customer, other_customer
):
    other = make_showtime(starts_at=future(days=2))
    mine = [book(showtime, customer), book(showtime, other_customer, paid=False)]
    book(other, customer)
    html = boss_client.get(change_url(showtime)).content.decode()
    link = f"/admin/booking/booking/?showtime={showtime.pk}"
    assert link in html
    assert "2 bookings" in html
    listed = boss_client.get(link)
    assert listed.status_code == 200
    assert {b.pk for b in listed.context["cl"].result_list} == {b.pk for b in mine}


def test_bookings_are_read_only(boss_client, showtime, customer):
    booking = book(showtime, customer)
    url = reverse("admin:booking_booking_change", args=[booking.pk])
    response = boss_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="_save"' not in html
    assert 'name="_continue"' not in html
    assert boss_client.post(url, {"status": "cancelled"}).status_code == 403
    assert boss_client.get(reverse("admin:booking_booking_add")).status_code == 403
    delete = reverse("admin:booking_booking_delete", args=[booking.pk])
    assert boss_client.get(delete).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_cancel_asks_for_a_reason_then_cancels_and_refunds(boss_client, showtime, customer):
    booking = book(showtime, customer)
    page = boss_client.get(change_url(showtime)).content.decode()
    cancel = reverse("admin:schedule_showtime_cancel") + f"?ids={showtime.pk}"
    assert cancel in page.replace("&amp;", "&")
    assert "Cancel show (refund everyone)" in page

    confirm = boss_client.get(cancel)
    assert confirm.status_code == 200
    assert "reason" in confirm.content.decode().lower()

    no_reason = boss_client.post(cancel, {"reason": "  "})
    assert no_reason.status_code == 200
    showtime.refresh_from_db()
    assert showtime.status == ShowtimeStatus.SCHEDULED

    done = boss_client.post(cancel, {"reason": "Projector broken"}, follow=True)
    assert done.status_code == 200
    showtime.refresh_from_db()
    booking.refresh_from_db()
    assert showtime.status == ShowtimeStatus.CANCELLED
    assert booking.status == BookingStatus.CANCELLED


def test_the_cancel_action_leads_to_the_confirmation_page(boss_client, make_showtime):
    shows = [make_showtime(starts_at=future(days=d)) for d in (2, 3)]
    response = boss_client.post(
        "/admin/schedule/showtime/",
        {"action": "cancel_shows", "_selected_action": [str(s.pk) for s in shows]},
    )
    assert response.status_code == 302
    target = response["Location"]
    assert target.startswith(reverse("admin:schedule_showtime_cancel"))
    done = boss_client.post(target, {"reason": "Festival moved"})
    assert done.status_code == 302
    assert set(Showtime.objects.values_list("status", flat=True)) == {ShowtimeStatus.CANCELLED}


def test_a_cancelled_show_cannot_be_edited_into_a_scheduled_one(boss_client, showtime):
    boss_client.post(
        reverse("admin:schedule_showtime_cancel") + f"?ids={showtime.pk}", {"reason": "Storm"}
    )
    response = boss_client.get(change_url(showtime))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_cancel_needs_the_change_permission(client, showtime, admin_user):
    """A staff member without model permissions cannot reach the cancel page."""
    client.force_login(admin_user)
    response = client.get(reverse("admin:schedule_showtime_cancel") + f"?ids={showtime.pk}")
    assert response.status_code == 403
    showtime.refresh_from_db()
    assert showtime.status == ShowtimeStatus.SCHEDULED


@pytest.mark.parametrize("kind", ["showtime", "movie", "screen"])
def test_the_delete_page_says_bookings_protect_it(boss_client, showtime, customer, kind):
    book(showtime, customer)
    obj = {"showtime": showtime, "movie": showtime.movie, "screen": showtime.screen}[kind]
    app = "schedule" if kind == "showtime" else "catalog"
    url = reverse(f"admin:{app}_{kind}_delete", args=[obj.pk])
    response = boss_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "permission" not in html.lower()
    assert "bookings" in html.lower()
    assert "cancel" in html.lower()
    # Confirming anyway shows the same page again (Django's delete view with protected objects).
    confirmed = boss_client.post(url, {"post": "yes"})
    assert confirmed.status_code == 200
    assert "bookings" in confirmed.content.decode().lower()
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert Booking.objects.count() == 1


def test_a_show_without_bookings_can_still_be_deleted(boss_client, showtime):
    url = reverse("admin:schedule_showtime_delete", args=[showtime.pk])
    response = boss_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Showtime.objects.exists()


@pytest.mark.parametrize("value", ["abc", "²", "-1", "99999999999999999999"])
def test_the_bookings_showtime_filter_refuses_garbage(boss_client, value):
    response = boss_client.get("/admin/booking/booking/", {"showtime": value})
    # Django's answer to lookup parameters it cannot use: back to the list, flagged as an error.
    assert response.status_code == 302
    assert response["Location"] == "/admin/booking/booking/?e=1"


def movie_form(movie: Movie, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "title": movie.title,
        "description": movie.description,
        "duration_minutes": movie.duration_minutes,
        "genres": [g.pk for g in movie.genres.all()],
        "age_rating": movie.age_rating,
        "release_date": "",
    }
    return {**data, **changes}


def test_a_longer_movie_re_spans_its_shows(boss_client, showtime, movie):
    url = reverse("admin:catalog_movie_change", args=[movie.pk])
    response = boss_client.post(url, movie_form(movie, duration_minutes=150))
    assert response.status_code == 302
    showtime.refresh_from_db()
    assert showtime.ends_at == showtime.starts_at + timedelta(minutes=150)


def test_a_movie_too_long_for_its_schedule_is_refused_naming_the_shows(
    boss_client, make_showtime, movie
):
    first = make_showtime(starts_at=future(days=3, hour=14))
    second = make_showtime(starts_at=future(days=3, hour=17))
    url = reverse("admin:catalog_movie_change", args=[movie.pk])
    response = boss_client.post(url, movie_form(movie, duration_minutes=240))
    assert response.status_code == 200
    message = errors_of(response)
    assert f"show {first.pk}" in message
    assert f"show {second.pk}" in message
    movie.refresh_from_db()
    first.refresh_from_db()
    assert movie.duration_minutes == 120
    assert first.ends_at == first.starts_at + timedelta(minutes=120)

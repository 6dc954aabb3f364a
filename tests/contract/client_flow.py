"""What a client developer writes against the Python client that openapi-python-client generates
from our schema (package ``boxoffice_client``): the customer's way from a token to a cancelled
booking, and the admin's from a new movie to the shows report. Only the generated client is used
(no raw HTTP, nothing patched), and ``mypy --strict`` must accept this module as it is.

tests/contract/test_generated_client.py generates the package into a temporary directory, puts
it on ``sys.path`` and ``MYPYPATH``, and runs these functions against ``live_server``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from boxoffice_client import AuthenticatedClient, Client
from boxoffice_client.api.auth import (
    auth_me_partial_update,
    auth_me_retrieve,
    auth_password_create,
    auth_password_reset_create,
    auth_token_create,
)
from boxoffice_client.api.bookings import (
    bookings_cancel_create,
    bookings_create,
    bookings_exchange_create,
    bookings_pay_create,
    bookings_retrieve,
    bookings_tickets_qr_retrieve,
    showtimes_seats_retrieve,
)
from boxoffice_client.api.catalog import (
    movies_create,
    screens_create,
    screens_seats_generate_create,
    theaters_create,
)
from boxoffice_client.api.reports import reports_showtimes_list
from boxoffice_client.api.schedule import showtimes_create, showtimes_list
from boxoffice_client.api.waitlist import (
    showtimes_waitlist_create,
    waitlist_destroy,
    waitlist_list,
)
from boxoffice_client.models import (
    Booking,
    BookingStatusEnum,
    CancelRequest,
    CredentialsRequest,
    ExchangeRequest,
    HoldRequest,
    LanguageEnum,
    Movie,
    MovieRequest,
    PaginatedShowtimeList,
    PaginatedShowtimeReportRowList,
    PaginatedWaitlistEntryList,
    PasswordChangeRequest,
    PasswordResetRequest,
    PatchedMeUpdateRequest,
    PaymentStart,
    Screen,
    ScreenRequest,
    SeatGridRequest,
    SeatMap,
    SeatStatusEnum,
    Showtime,
    ShowtimeRequest,
    Theater,
    TheaterRequest,
    TokenPair,
    User,
    WaitlistEntry,
    WaitlistEntryStatusEnum,
    WaitlistJoinRequest,
)
from boxoffice_client.types import File

BERLIN = ZoneInfo("Europe/Berlin")


def sign_in(base_url: str, username: str, password: str) -> AuthenticatedClient:
    """POST /auth/token/, then a client that sends ``Authorization: Bearer <access>`` (use it
    in a ``with`` block, which closes its connections)."""
    with Client(base_url=base_url, raise_on_unexpected_status=True) as anonymous:
        tokens = auth_token_create.sync(
            client=anonymous, body=CredentialsRequest(username=username, password=password)
        )
    assert isinstance(tokens, TokenPair), tokens
    return AuthenticatedClient(
        base_url=base_url, token=tokens.access, raise_on_unexpected_status=True
    )


@dataclass(frozen=True)
class Scheduled:
    movie: Movie
    showtime: Showtime


def admin_flow(admin: AuthenticatedClient, day: datetime.date) -> Scheduled:
    """A theater with a screen and seats, a new movie, a show of it on ``day`` at 19:00."""
    theater = theaters_create.sync(
        client=admin,
        body=TheaterRequest(name="Odeon", timezone="Europe/Berlin", currency="usd"),
    )
    assert isinstance(theater, Theater), theater
    screen = screens_create.sync(client=admin, body=ScreenRequest(theater=theater.id, name="1"))
    assert isinstance(screen, Screen), screen
    seats = screens_seats_generate_create.sync(
        screen.id, client=admin, body=SeatGridRequest(rows=4, seats_per_row=8)
    )
    assert isinstance(seats, list), seats
    assert len(seats) == 32

    movie = movies_create.sync(
        client=admin,
        body=MovieRequest(title="Generated Client", duration_minutes=100, age_rating="PG-13"),
    )
    assert isinstance(movie, Movie), movie
    assert movie.genres == []

    starts_at = datetime.datetime.combine(day, datetime.time(19, 0), tzinfo=BERLIN)
    showtime = showtimes_create.sync(
        client=admin,
        body=ShowtimeRequest(
            movie=movie.id,
            screen=screen.id,
            starts_at=starts_at,
            base_price="12.50",
            currency="usd",
        ),
    )
    assert isinstance(showtime, Showtime), showtime
    assert showtime.movie.id == movie.id
    assert showtime.theater.id == theater.id
    assert showtime.base_price == "12.50"
    assert showtime.currency == "usd"
    return Scheduled(movie=movie, showtime=showtime)


def shows_report(admin: AuthenticatedClient, day: datetime.date) -> PaginatedShowtimeReportRowList:
    start = datetime.datetime.combine(day, datetime.time(0, 0), tzinfo=BERLIN)
    report = reports_showtimes_list.sync(
        client=admin, from_=start, to=start + datetime.timedelta(days=1)
    )
    assert isinstance(report, PaginatedShowtimeReportRowList), report
    return report


@dataclass(frozen=True)
class Visit:
    held: Booking
    released: Booking
    payment: PaymentStart
    read: Booking
    cancelled: Booking


def customer_flow(customer: AuthenticatedClient, day: datetime.date, title: str) -> Visit:
    """Shows on ``day``, the seat map of the one titled ``title``, a hold of three seats side by
    side, one of them released (a partial cancel), the pay step, the booking read back, and its
    cancellation."""
    page = showtimes_list.sync(client=customer, date=day)
    assert isinstance(page, PaginatedShowtimeList), page
    show = next(s for s in page.results if s.movie.title == title)

    seat_map = showtimes_seats_retrieve.sync(show.id, client=customer)
    assert isinstance(seat_map, SeatMap), seat_map
    free = [s for s in seat_map.seats if s.status == SeatStatusEnum.AVAILABLE and s.row == "A"]
    chosen = [seat.id for seat in sorted(free, key=lambda s: s.number)[:3]]

    held = bookings_create.sync(client=customer, body=HoldRequest(showtime=show.id, seats=chosen))
    assert isinstance(held, Booking), held
    assert held.status == BookingStatusEnum.PENDING
    assert held.payment is None

    # The third seat is not needed after all: released alone (before paying), the total follows.
    released = bookings_cancel_create.sync(
        held.id, client=customer, body=CancelRequest(seats=[chosen[2]])
    )
    assert isinstance(released, Booking), released
    assert released.status == BookingStatusEnum.PENDING
    kept = [seat.id for seat in released.seats if seat.cancelled_at is None]
    assert kept == chosen[:2], kept
    assert Decimal(released.total) < Decimal(held.total)

    payment = bookings_pay_create.sync(held.id, client=customer)
    assert isinstance(payment, PaymentStart), payment

    read = bookings_retrieve.sync(held.id, client=customer)
    assert isinstance(read, Booking), read
    assert read.payment is not None
    assert read.payment.client_secret == payment.client_secret

    # An exchange is for confirmed bookings: this one is still pending (a documented 409).
    refused = bookings_exchange_create.sync_detailed(
        held.id, client=customer, body=ExchangeRequest(showtime=show.id, seats=[chosen[2]])
    )
    assert refused.status_code == 409, refused.status_code
    assert refused.parsed is not None
    assert b"not_confirmed" in refused.content

    cancelled = bookings_cancel_create.sync(held.id, client=customer)
    assert isinstance(cancelled, Booking), cancelled
    assert cancelled.status == BookingStatusEnum.CANCELLED
    return Visit(held=held, released=released, payment=payment, read=read, cancelled=cancelled)


def ticket_qrs(customer: AuthenticatedClient, booking_id: int) -> list[bytes]:
    """The QR image of every ticket of a confirmed booking, as the client reads it: bytes."""
    booking = bookings_retrieve.sync(booking_id, client=customer)
    assert isinstance(booking, Booking), booking
    assert booking.status == BookingStatusEnum.CONFIRMED
    images = []
    for ticket in booking.tickets:
        qr = bookings_tickets_qr_retrieve.sync(booking_id, ticket.code, client=customer)
        assert isinstance(qr, File), qr
        images.append(qr.payload.read())
    return images


def password_flow(base_url: str, username: str, old: str, new: str) -> User:
    """Ask for a reset email (204 whoever asks), change the password while signed in (204, no
    body), then sign in with the new one: the signed-in user is returned."""
    with Client(base_url=base_url, raise_on_unexpected_status=True) as anonymous:
        asked = auth_password_reset_create.sync_detailed(
            client=anonymous, body=PasswordResetRequest(email="nobody@example.com")
        )
    assert asked.status_code == 204, asked.status_code
    with sign_in(base_url, username, old) as client:
        changed = auth_password_create.sync_detailed(
            client=client, body=PasswordChangeRequest(old_password=old, new_password=new)
        )
        assert changed.status_code == 204, changed.status_code
    with sign_in(base_url, username, new) as client:
        me = auth_me_retrieve.sync(client=client)
    assert isinstance(me, User), me
    return me


def language_flow(base_url: str, username: str, password: str) -> User:
    """Change the language of the signed-in customer's emails to German and read it back."""
    with sign_in(base_url, username, password) as client:
        changed = auth_me_partial_update.sync(
            client=client, body=PatchedMeUpdateRequest(language=LanguageEnum.DE)
        )
        assert isinstance(changed, User), changed
        me = auth_me_retrieve.sync(client=client)
    assert isinstance(me, User), me
    assert me.language == changed.language
    return me


def waitlist_flow(client: AuthenticatedClient, showtime_id: int) -> list[WaitlistEntry]:
    """Join a sold-out show's waitlist for two seats (201, first in the queue), find the entry
    in the list, leave it (204, no body): the entries as listed afterwards."""
    joined = showtimes_waitlist_create.sync(
        showtime_id, client=client, body=WaitlistJoinRequest(quantity=2)
    )
    assert isinstance(joined, WaitlistEntry), joined
    assert joined.status == WaitlistEntryStatusEnum.WAITING
    assert joined.position == 1
    assert joined.offer is None
    listed = waitlist_list.sync(client=client)
    assert isinstance(listed, PaginatedWaitlistEntryList), listed
    assert [entry.id for entry in listed.results] == [joined.id]
    left = waitlist_destroy.sync_detailed(joined.id, client=client)
    assert left.status_code == 204, left.status_code
    after = waitlist_list.sync(client=client)
    assert isinstance(after, PaginatedWaitlistEntryList), after
    return after.results

"""Holding seats: named seats (:func:`create_hold`) and best available
(:func:`hold_best_available`), their validation, the seat rules and the per-customer cap, and
the one transaction that writes a hold (:func:`_hold_seats`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Seat, SeatKind
from boxoffice.core.errors import Conflict, InputError
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from .. import locks, pricing, seatmap_cache, seatrules
from ..models import Booking, BookingSeat, BookingStatus
from .payments import record_payment
from .seats import accessible_released, live_taken_seat_ids, release_lapsed, screen_layout

S = BookingStatus


class HoldError(InputError):
    """The hold request is invalid (400); ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str = "seats") -> None:
        super().__init__(message, field=field)


class SeatsTaken(Conflict):
    """409 naming the seats someone else holds or bought."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        super().__init__(
            f"Seats no longer available: {', '.join(self.labels)}.", code="seats_unavailable"
        )


def _labels(seats: Sequence[Seat]) -> list[str]:
    return [seat.label for seat in sorted(seats, key=lambda s: (s.row_index, s.number))]


def _validate_hold(*, showtime: Showtime, seat_ids: Sequence[int], now: datetime) -> list[Seat]:
    max_seats = settings.BOOKING_MAX_SEATS
    if not seat_ids:
        raise HoldError("Choose at least one seat.")
    if len(seat_ids) > max_seats:
        raise HoldError(
            f"At most {max_seats} seats can be held at once; {len(seat_ids)} were asked."
        )
    duplicates = sorted({s for s in seat_ids if seat_ids.count(s) > 1})
    if duplicates:
        raise HoldError(f"Each seat may be listed once; repeated: {duplicates}.")
    _refuse_unsellable(showtime.status, showtime.starts_at, now)
    seats = list(Seat.objects.filter(pk__in=seat_ids))
    found = {seat.pk for seat in seats}
    unknown = sorted(set(seat_ids) - found)
    if unknown:
        raise HoldError(f"No such seats: {unknown}.")
    elsewhere = sorted(seat.pk for seat in seats if seat.screen_id != showtime.screen_id)
    if elsewhere:
        raise HoldError(f"Seats {elsewhere} are not in this show's screen.")
    return seats


def _refuse_unsellable(status: str, starts_at: datetime, now: datetime) -> None:
    if status != ShowtimeStatus.SCHEDULED:
        raise HoldError("This show has been cancelled.", field="showtime")
    if starts_at <= now:
        raise HoldError("This show has already started.", field="showtime")


def _refuse_over_cap(*, user: User, showtime_id: int, adding: int, now: datetime) -> None:
    """A customer's running holds on one show total at most BOOKING_MAX_SEATS seats. Called
    with the user's row locked, so two parallel holds of one customer are counted in turn."""
    cap = settings.BOOKING_MAX_SEATS
    holding = (
        BookingSeat.objects.filter(showtime_id=showtime_id, booking__user=user)
        .filter(booking__in=Booking.objects.running_holds(now))
        .live(now)
        .count()
    )
    if holding + adding > cap:
        raise Conflict(
            f"You already hold {holding} seat(s) of this show; holds total at most {cap} seats "
            "per customer. Pay for or cancel a hold first.",
            code="hold_limit",
        )


def seat_info(seat: Seat) -> seatrules.SeatInfo:
    return seatrules.SeatInfo(
        id=seat.pk,
        label=seat.label,
        x=seat.x,
        y=seat.y,
        tier=seat.tier,
        kind=seat.kind,
        blocked=seat.blocked,
        companion_of=seat.companion_of_id,
    )


def _own_spaces(*, user: User, showtime_id: int, now: datetime) -> set[int]:
    """The wheelchair spaces of the show this customer holds or bought."""
    return set(
        BookingSeat.objects.filter(
            showtime_id=showtime_id, booking__user=user, seat__kind=SeatKind.WHEELCHAIR
        )
        .live(now)
        .values_list("seat_id", flat=True)
    )


def _refuse_by_rules(
    *,
    user: User,
    showtime: Showtime,
    seats: Sequence[Seat],
    accessible: bool,
    now: datetime,
) -> None:
    """The seat rules (boxoffice.booking.seatrules) for a hold of named seats: 409 with the
    rule's code. Also 409 ``seats_unavailable`` when a seat is taken. Checked twice: before the
    hold's transaction (a refusal costs no lock), and, when the gap rule is on, again inside it
    under the rows' locks (``locks.lock_rows``): two holds committing at the same moment could
    otherwise, together, leave a seat alone that neither alone would have."""
    by_id = {seat.pk: seat for seat in seats}
    rule = showtime.screen.single_seat_rule
    if rule:
        rows = Seat.objects.filter(screen_id=showtime.screen_id, y__in={s.y for s in seats})
        row_seats = list(rows)
        taken = live_taken_seat_ids(
            showtime_id=showtime.pk, seat_ids=[s.pk for s in row_seats], now=now
        )
    else:
        row_seats = list(seats)
        taken = live_taken_seat_ids(showtime_id=showtime.pk, seat_ids=list(by_id), now=now)
    lost = taken & by_id.keys()
    if lost:
        raise SeatsTaken(_labels([by_id[pk] for pk in lost]))
    layout = seatrules.build_layout(
        seat_info(by_id.get(s.pk, s)) for s in row_seats
    )  # the chosen ones with every field, their rows' others for the gap rule
    released = accessible_released(showtime, now)
    needs_own = not released and any(s.kind == SeatKind.COMPANION for s in seats)
    try:
        seatrules.check_hold(
            layout,
            taken,
            list(by_id),
            accessible=accessible,
            released=released,
            own_spaces=_own_spaces(user=user, showtime_id=showtime.pk, now=now)
            if needs_own
            else (),
            single_seat_rule=rule,
        )
    except seatrules.RuleViolation as exc:
        raise Conflict(exc.message, code=exc.code) from exc


def create_hold(
    *,
    user: User,
    showtime: Showtime,
    seat_ids: Sequence[int],
    accessible: bool = False,
    within: Callable[[Booking], None] | None = None,
) -> Booking:
    """Hold ``seat_ids`` of ``showtime`` for ``user``, all or nothing, for BOOKING_HOLD_SECONDS
    (never past the show's start). No call to the payment provider: paying is its own step.

    Raises HoldError (400) for an invalid request, Conflict ``hold_limit`` (409) past the
    per-customer cap, a seat rule's Conflict (409 ``seat_blocked``, ``wheelchair_only``,
    ``companion_only``, ``single_seat_gap``: boxoffice.booking.seatrules), and SeatsTaken (409)
    when any seat is held or sold: either found by the check, or refused by the unique index
    when a racing buyer committed first. A show whose total is zero needs no payment and is
    confirmed at once. ``within(booking)`` runs in the hold's transaction after its rows and
    locks (an exchange decides there; raising rolls the hold back) and decides what follows.
    """
    now = timezone.now()
    seats = _validate_hold(showtime=showtime, seat_ids=seat_ids, now=now)
    _refuse_by_rules(user=user, showtime=showtime, seats=seats, accessible=accessible, now=now)

    def pick() -> list[Seat]:
        if showtime.screen.single_seat_rule:
            # Again, now that no other hold of these rows can commit until this one does.
            locks.lock_rows(showtime.pk, {seat.y for seat in seats})
            _refuse_by_rules(
                user=user, showtime=showtime, seats=seats, accessible=accessible, now=now
            )
        return seats

    return _hold_seats(
        user=user,
        showtime=showtime,
        now=now,
        adding=len(seats),
        pick=pick,
        named=[seat.pk for seat in seats],
        within=within,
    )


BEST_AVAILABLE_ATTEMPTS = 5


def hold_best_available(
    *,
    user: User,
    showtime: Showtime,
    quantity: int,
    tier: str | None = None,
    allow_split: bool = False,
    accessible: bool = False,
    hold_seconds: int | None = None,
    waitlist_entry: int | None = None,
) -> Booking:
    """Hold the best ``quantity`` seats side by side in one row (no aisle between), all or
    nothing (seatrules.best_available says which are best). Chosen under the show's
    best-available lock on the seats as they are then; a seat won meanwhile by a named hold
    makes the buyer choose again, at most BEST_AVAILABLE_ATTEMPTS times. The hold itself is
    :func:`_hold_seats`, as for named seats: the unique index still guarantees no double sale.

    409 ``no_adjacent_seats`` when no row has them together (and, with ``allow_split``, no two
    adjacent rows either); 409 ``seats_unavailable`` when every attempt lost a race.

    The waitlist's offers come through here too, so every seat rule and the cap apply to them:
    ``hold_seconds`` instead of BOOKING_HOLD_SECONDS (WAITLIST_OFFER_MINUTES), and the entry's
    id stored on the booking (``waitlist_entry``).
    """
    max_seats = settings.BOOKING_MAX_SEATS
    if not 1 <= quantity <= max_seats:
        raise HoldError(f"quantity must be between 1 and {max_seats}.", field="quantity")
    now = timezone.now()
    _refuse_unsellable(showtime.status, showtime.starts_at, now)
    screen = showtime.screen
    layout, row_index = screen_layout(screen.pk)
    spot = seatrules.sweet_spot(
        layout,
        column_percent=screen.sweet_spot_column_percent,
        row_percent=screen.sweet_spot_row_percent,
    )
    released = accessible_released(showtime, now)
    has_companions = any(s.kind == SeatKind.COMPANION for s in layout.seats.values())

    def pick() -> list[Seat]:
        at = timezone.now()
        taken = set(
            BookingSeat.objects.filter(showtime_id=showtime.pk)
            .live(at)
            .values_list("seat_id", flat=True)
        )
        own = (
            _own_spaces(user=user, showtime_id=showtime.pk, now=at)
            if has_companions and not released
            else set()
        )
        chosen = seatrules.best_available(
            layout,
            taken,
            quantity,
            spot=spot,
            tier=tier,
            accessible=accessible,
            released=released,
            own_spaces=own,
            single_seat_rule=screen.single_seat_rule,
            allow_split=allow_split,
        )
        if chosen is None:
            where = f" {tier}" if tier else ""
            raise Conflict(
                f"No {quantity}{where} seats are free side by side in one row"
                + ("" if not allow_split else " or split across two adjacent rows")
                + (" with a wheelchair space" if accessible else "")
                + (
                    "; ask with allow_split: true to accept seats in adjacent rows."
                    if not allow_split and quantity > 1
                    else "."
                ),
                code="no_adjacent_seats",
            )
        if screen.single_seat_rule:
            # Chosen under the best-available lock, but a named hold of these rows may have
            # committed since the seats were read: look again under the rows' locks.
            rows = {seat.y for seat in chosen}
            locks.lock_rows(showtime.pk, rows)
            ids = {seat.id for seat in chosen}
            now_taken = live_taken_seat_ids(
                showtime_id=showtime.pk,
                seat_ids=[s.id for s in layout.seats.values() if s.y in rows],
                now=timezone.now(),
            )
            if now_taken & ids or seatrules.gap_violations(layout, now_taken, ids):
                raise SeatsTaken([seat.label for seat in chosen])  # choose again
        # What the hold and its answer need of a seat, without reading it again.
        return [
            Seat(
                pk=seat.id,
                screen_id=screen.pk,
                row=seat.label.rstrip("0123456789"),
                row_index=row_index[seat.id],
                number=int(seat.label[len(seat.label.rstrip("0123456789")) :]),
                tier=seat.tier,
            )
            for seat in chosen
        ]

    for _attempt in range(BEST_AVAILABLE_ATTEMPTS):
        try:
            return _hold_seats(
                user=user,
                showtime=showtime,
                now=now,
                adding=quantity,
                pick=pick,
                serialize=True,
                hold_seconds=hold_seconds,
                waitlist_entry=waitlist_entry,
            )
        except SeatsTaken:
            continue  # a named hold won a chosen seat meanwhile: choose again
    raise Conflict(
        "The seats chosen for you were taken by other buyers while we held them; try again.",
        code="seats_unavailable",
    )


def _refuse_changed(showtime: Showtime, show: locks.Show, named: Sequence[int]) -> None:
    """The show or its grid changed between the hold's first reads and its lock: an admin moved
    it, gave it another screen, film, currency or price, or rebuilt the screen's seats (which a
    rebuild may do until the first booking). The hold was checked and would be priced against
    the old copy, so it is refused and the customer reloads the seat map."""
    if show.terms is not None and show.terms != (
        showtime.screen_id,
        showtime.movie_id,
        showtime.currency,
        showtime.base_price,
    ):
        raise Conflict(
            "This show was changed a moment ago; reload its seat map and choose again.",
            code="showtime_changed",
        )
    if named and show.seats_present is not None and show.seats_present != len(named):
        raise Conflict(
            "This screen's seats were rearranged a moment ago; reload the seat map and choose "
            "again.",
            code="seats_changed",
        )


def _hold_seats(
    *,
    user: User,
    showtime: Showtime,
    now: datetime,
    adding: int,
    pick: Callable[[], Sequence[Seat]],
    serialize: bool = False,
    named: Sequence[int] = (),
    hold_seconds: int | None = None,
    waitlist_entry: int | None = None,
    within: Callable[[Booking], None] | None = None,
) -> Booking:
    """The one transaction that writes a hold, shared by named seats and best available: in
    the lock order, the customer's row (the cap), the show's best-available lock when
    ``serialize``, the show's row (shared), then ``pick()`` says which seats (named: the ones
    asked for; best available: chosen now, under the locks), and the rows are inserted. The
    partial unique index refuses a seat a racing buyer committed first: SeatsTaken (409)."""
    seats: Sequence[Seat] = ()
    try:
        with locks.atomic():
            locks.lock_customer(user)
            if serialize:
                locks.lock_best_available(showtime.pk)
            show = locks.share_lock_show(showtime.pk, for_hold=named)
            _refuse_unsellable(show.status, show.starts_at, now)
            _refuse_changed(showtime, show, named)
            _refuse_over_cap(user=user, showtime_id=showtime.pk, adding=adding, now=now)
            seats = pick()
            by_id = {seat.pk: seat for seat in seats}
            quote = pricing.quote(
                showtime=showtime, seat_tiers={pk: s.tier for pk, s in by_id.items()}
            )
            seconds = settings.BOOKING_HOLD_SECONDS if hold_seconds is None else hold_seconds
            expires_at = min(now + timedelta(seconds=seconds), showtime.starts_at)
            release_lapsed(showtime_id=showtime.pk, seat_ids=list(by_id), now=now)
            booking = Booking.objects.create(
                user=user,
                showtime=showtime,
                status=S.PENDING,
                expires_at=expires_at,
                total=quote.total,
                currency=showtime.currency,
                price_policy=quote.policy,
                created_at=now,
                waitlist_entry=waitlist_entry,
            )
            rows = BookingSeat.objects.bulk_create(
                BookingSeat(
                    booking=booking,
                    showtime=showtime,
                    seat=by_id[seat_id],
                    tier=by_id[seat_id].tier,
                    base_price=quote.seats[seat_id].base_price,
                    tier_factor=quote.seats[seat_id].tier_factor,
                    time_factor=quote.seats[seat_id].time_factor,
                    price=quote.seats[seat_id].price,
                    is_live=True,
                    hold_expires_at=expires_at,
                )
                for seat_id in sorted(by_id)  # seat order: see seats.release_lapsed
            )
            seatmap_cache.seats_changed(showtime.pk, list(by_id))
            if within is not None:
                within(booking)
    except IntegrityError as exc:
        # A racing buyer committed one of these seats between our check and our INSERT.
        if "booking_seat_live_once" not in str(exc) and "UNIQUE" not in str(exc).upper():
            raise
        by_id = {seat.pk: seat for seat in seats}
        taken = live_taken_seat_ids(
            showtime_id=showtime.pk, seat_ids=list(by_id), now=timezone.now()
        )
        raise SeatsTaken(_labels([by_id[pk] for pk in taken] or seats)) from exc
    if within is not None:
        booking.refresh_from_db()
    elif booking.total == 0:
        record_payment(booking=booking, amount=booking.total)
        booking.refresh_from_db()
        return booking
    # The seat rows just written, in seat order: the API answers the hold from them (with the
    # booking's show and customer, also in hand) instead of reading it all back.
    booking.new_seats = sorted(rows, key=lambda row: (row.seat.row_index, row.seat.number))  # type: ignore[attr-defined]
    return booking

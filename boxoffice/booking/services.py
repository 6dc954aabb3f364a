"""Holds, payments, cancellations and the hold tidy-up: every booking write.

The guarantees live in the database (see :mod:`boxoffice.booking.models` for the partial unique
index, :mod:`boxoffice.booking.states` for the conditional status updates). The checks here only
turn the rare race into a clear message.

Decisions are made on rows as they are under lock, never on a copy read earlier: a cancel that
races a payment sees the booking as the payment left it (or the payment sees it cancelled).

Lock order, everywhere (so no two writers can wait on each other in a cycle):

    the customer's user row (hold only: the per-customer cap)
    -> the show's best-available lock (best-available holds only: a PostgreSQL advisory lock
       per show, so racing best-available buyers choose one after the other)
    -> the show's row (shared: holds and payments; exclusive: a show's change or cancellation)
    -> seat rows (ascending seat id, then row id)
    -> booking rows

Every write that changes which seats are taken calls ``seatmap_cache.seats_changed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.catalog.models import Seat, SeatKind
from boxoffice.core.errors import Conflict, InputError
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from . import pricing, rules, seatmap_cache, seatrules, selectors, signals, states, tickets
from .models import Booking, BookingSeat, BookingStatus, PricePolicy, SeatChange, Ticket

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


# --- locks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Show:
    status: str
    starts_at: datetime


def _share_lock_show(showtime_id: int) -> _Show:
    """Read the show's status and start under a shared lock (PostgreSQL ``FOR SHARE``): holds
    and payments of one show share it with each other, while a change or cancellation of the
    show (``FOR NO KEY UPDATE`` / UPDATE) waits for them, and they for it. So a hold or a payment is
    decided either wholly before a show's cancellation or wholly after it. On SQLite the
    transaction's write lock already orders them."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT status, starts_at FROM schedule_showtime WHERE id = %s FOR SHARE",
                [showtime_id],
            )
            status, starts_at = cursor.fetchone()
        return _Show(status=status, starts_at=starts_at)
    show = Showtime.objects.values("status", "starts_at").get(pk=showtime_id)
    return _Show(status=show["status"], starts_at=show["starts_at"])


# Row locks here are ``FOR NO KEY UPDATE`` (``no_key=True``): they exclude each other and the
# shows' ``FOR SHARE``, but not the key-share lock a foreign-key check takes. Django's foreign
# keys are checked at COMMIT, so a full ``FOR UPDATE`` on a customer, booking or seat row made
# any commit that refers to that row wait for us, while we could be waiting for a seat that
# commit's transaction holds: a deadlock (PostgreSQL killed one side; the races saw it).


def lock_shows_of_screen(*, screen_id: int) -> None:
    """Lock every show of the screen exclusively (``FOR NO KEY UPDATE``, in id order), as a
    show's change does: holds and payments of those shows, which share the show's row, finish
    first or wait until the caller's transaction ends."""
    list(
        Showtime.objects.filter(screen_id=screen_id)
        .order_by("pk")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _lock_seat_rows(rows: Q) -> None:
    """Lock the BookingSeat rows matching ``rows`` in the global order (seat, id)."""
    list(
        BookingSeat.objects.filter(rows)
        .order_by("seat_id", "id")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )


def _lock_booking(booking_id: int) -> Booking:
    """Lock the booking's seat rows, then the booking itself (the global order), and return the
    booking as it is now. Only the booking's row: its show, read along, is not locked (FOR
    UPDATE over the join locked the show's row too, after the seat rows, against the lock
    order; a payment holding the show's shared lock then waited for our seat rows while we
    waited for the show: deadlock, tests/concurrency/test_money_races.py)."""
    _lock_seat_rows(Q(booking_id=booking_id))
    return (
        Booking.objects.select_for_update(of=("self",), no_key=True)
        .select_related("showtime")
        .get(pk=booking_id)
    )


def _release_lapsed(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> None:
    """Inside the caller's transaction: end lapsed holds on ``seat_ids`` so the seats can be
    claimed. Rows are locked in seat order, like the INSERT that follows, so two buyers of
    overlapping seats queue up instead of deadlocking.

    Only the locked rows change. Their bookings already read as expired (by time) and the
    tidy-up rewrites their status later; updating the bookings or their other seats here would
    take locks outside seat order, and two buyers of two seats of one lapsed booking deadlocked
    on exactly that (tests/concurrency/test_booking_races.py, the mixed-activity test)."""
    lapsed = list(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=seat_ids)
        .lapsed(now)
        .order_by("seat_id", "id")
        .select_for_update(no_key=True)
        .values_list("pk", flat=True)
    )
    if lapsed:
        BookingSeat.objects.filter(pk__in=lapsed).update(is_live=False)


def live_taken_seat_ids(*, showtime_id: int, seat_ids: Sequence[int], now: datetime) -> set[int]:
    """Seats among ``seat_ids`` that a live hold or a sale occupies at ``now``."""
    return set(
        BookingSeat.objects.filter(showtime_id=showtime_id, seat_id__in=seat_ids)
        .live(now)
        .values_list("seat_id", flat=True)
    )


# --- holds -------------------------------------------------------------------------------------


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


def _lock_customer(user: User) -> None:
    """Lock the customer's row: their holds are counted against the cap one at a time."""
    list(
        User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk", flat=True)
    )


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


def accessible_released(showtime: Showtime, now: datetime) -> bool:
    """Wheelchair spaces and companion seats are on general sale from ACCESSIBLE_RELEASE_MINUTES
    before the show."""
    return now >= showtime.starts_at - timedelta(minutes=settings.ACCESSIBLE_RELEASE_MINUTES)


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
    under the rows' locks (:func:`_lock_rows`): two holds committing at the same moment could
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
    *, user: User, showtime: Showtime, seat_ids: Sequence[int], accessible: bool = False
) -> Booking:
    """Hold ``seat_ids`` of ``showtime`` for ``user``, all or nothing, for BOOKING_HOLD_SECONDS
    (never past the show's start). No call to the payment provider: paying is its own step.

    Raises HoldError (400) for an invalid request, Conflict ``hold_limit`` (409) past the
    per-customer cap, a seat rule's Conflict (409 ``seat_blocked``, ``wheelchair_only``,
    ``companion_only``, ``single_seat_gap``: boxoffice.booking.seatrules), and SeatsTaken (409)
    when any seat is held or sold: either found by the check, or refused by the unique index
    when a racing buyer committed first. A show whose total is zero needs no payment and is
    confirmed at once.
    """
    now = timezone.now()
    seats = _validate_hold(showtime=showtime, seat_ids=seat_ids, now=now)
    _refuse_by_rules(user=user, showtime=showtime, seats=seats, accessible=accessible, now=now)

    def pick() -> list[Seat]:
        if showtime.screen.single_seat_rule:
            # Again, now that no other hold of these rows can commit until this one does.
            _lock_rows(showtime.pk, {seat.y for seat in seats})
            _refuse_by_rules(
                user=user, showtime=showtime, seats=seats, accessible=accessible, now=now
            )
        return seats

    return _hold_seats(user=user, showtime=showtime, now=now, adding=len(seats), pick=pick)


def _lock_rows(showtime_id: int, rows: Iterable[int]) -> None:
    """Holds of the same rows of one show decide the gap rule one after the other: a
    transaction-scoped PostgreSQL advisory lock per (show, row), taken in row order so two
    holds never wait on each other in a cycle. A hold that waited then reads the rows with the
    other's seats committed. (SQLite's write lock already orders the transactions.) Keys are
    the two-integer form, which no other lock here uses; a show id past 2^31 wraps and only
    shares a lock with another show's row."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for row in sorted(set(rows)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [showtime_id & 0x7FFFFFFF, row])


def _lock_best_available(showtime_id: int) -> None:
    """Best-available buyers of one show choose one after the other (a transaction-scoped
    PostgreSQL advisory lock; SQLite's write lock already orders writers). Named holds do not
    take it: a seat they win meanwhile is refused by the unique index and the buyer retries."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_BEST_AVAILABLE_LOCK + showtime_id])


_BEST_AVAILABLE_LOCK = 0x5EA7 << 32  # advisory lock keys: this namespace + the show's id
BEST_AVAILABLE_ATTEMPTS = 5


def hold_best_available(
    *,
    user: User,
    showtime: Showtime,
    quantity: int,
    tier: str | None = None,
    allow_split: bool = False,
    accessible: bool = False,
) -> Booking:
    """Hold the best ``quantity`` seats side by side in one row (no aisle between), all or
    nothing (seatrules.best_available says which are best). Chosen under the show's
    best-available lock on the seats as they are then; a seat won meanwhile by a named hold
    makes the buyer choose again, at most BEST_AVAILABLE_ATTEMPTS times. The hold itself is
    :func:`_hold_seats`, as for named seats: the unique index still guarantees no double sale.

    409 ``no_adjacent_seats`` when no row has them together (and, with ``allow_split``, no two
    adjacent rows either); 409 ``seats_unavailable`` when every attempt lost a race.
    """
    max_seats = settings.BOOKING_MAX_SEATS
    if not 1 <= quantity <= max_seats:
        raise HoldError(f"quantity must be between 1 and {max_seats}.", field="quantity")
    now = timezone.now()
    _refuse_unsellable(showtime.status, showtime.starts_at, now)
    screen = showtime.screen
    # Plain rows, not model instances: 600 seats are read on every best-available hold.
    grid = list(
        Seat.objects.filter(screen_id=screen.pk).values_list(
            "pk", "row", "number", "x", "y", "tier", "kind", "blocked", "companion_of", "row_index"
        )
    )
    row_index = {seat[0]: seat[-1] for seat in grid}
    layout = seatrules.build_layout(
        seatrules.SeatInfo(
            id=pk,
            label=f"{row}{number}",
            x=x,
            y=y,
            tier=seat_tier,
            kind=kind,
            blocked=blocked,
            companion_of=companion_of,
        )
        for pk, row, number, x, y, seat_tier, kind, blocked, companion_of, _ in grid
    )
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
            _lock_rows(showtime.pk, rows)
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
                user=user, showtime=showtime, now=now, adding=quantity, pick=pick, serialize=True
            )
        except SeatsTaken:
            continue  # a named hold won a chosen seat meanwhile: choose again
    raise Conflict(
        "The seats chosen for you were taken by other buyers while we held them; try again.",
        code="seats_unavailable",
    )


def _hold_seats(
    *,
    user: User,
    showtime: Showtime,
    now: datetime,
    adding: int,
    pick: Callable[[], Sequence[Seat]],
    serialize: bool = False,
) -> Booking:
    """The one transaction that writes a hold, shared by named seats and best available: in
    the lock order, the customer's row (the cap), the show's best-available lock when
    ``serialize``, the show's row (shared), then ``pick()`` says which seats (named: the ones
    asked for; best available: chosen now, under the locks), and the rows are inserted. The
    partial unique index refuses a seat a racing buyer committed first: SeatsTaken (409)."""
    seats: Sequence[Seat] = ()
    try:
        with transaction.atomic():
            _lock_customer(user)
            if serialize:
                _lock_best_available(showtime.pk)
            show = _share_lock_show(showtime.pk)
            _refuse_unsellable(show.status, show.starts_at, now)
            _refuse_over_cap(user=user, showtime_id=showtime.pk, adding=adding, now=now)
            seats = pick()
            by_id = {seat.pk: seat for seat in seats}
            quote = pricing.quote(
                showtime=showtime, seat_tiers={pk: s.tier for pk, s in by_id.items()}
            )
            expires_at = min(
                now + timedelta(seconds=settings.BOOKING_HOLD_SECONDS), showtime.starts_at
            )
            _release_lapsed(showtime_id=showtime.pk, seat_ids=list(by_id), now=now)
            booking = Booking.objects.create(
                user=user,
                showtime=showtime,
                status=S.PENDING,
                expires_at=expires_at,
                total=quote.total,
                currency=showtime.currency,
                price_policy=quote.policy,
                created_at=now,
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
                for seat_id in sorted(by_id)  # seat order: see _release_lapsed
            )
            seatmap_cache.seats_changed(showtime.pk, list(by_id))
    except IntegrityError as exc:
        # A racing buyer committed one of these seats between our check and our INSERT.
        if "booking_seat_live_once" not in str(exc) and "UNIQUE" not in str(exc).upper():
            raise
        by_id = {seat.pk: seat for seat in seats}
        taken = live_taken_seat_ids(
            showtime_id=showtime.pk, seat_ids=list(by_id), now=timezone.now()
        )
        raise SeatsTaken(_labels([by_id[pk] for pk in taken] or seats)) from exc
    if booking.total == 0:
        record_payment(booking=booking, amount=booking.total)
        booking.refresh_from_db()
        return booking
    # The seat rows just written, in seat order: the API answers the hold from them (with the
    # booking's show and customer, also in hand) instead of reading it all back.
    booking.new_seats = sorted(rows, key=lambda row: (row.seat.row_index, row.seat.number))  # type: ignore[attr-defined]
    return booking


# --- paying ------------------------------------------------------------------------------------


def _refuse_unpayable(booking: Booking, show: _Show, now: datetime) -> None:
    refusal = selectors.payment_refusal(booking, show_status=show.status, now=now)
    if refusal is not None:
        raise refusal


def check_payable(*, booking: Booking, now: datetime | None = None) -> None:
    """Raise Conflict (409) unless the booking can be paid now: pending, its hold running, its
    show still on. The payment layer asks before opening a payment."""
    show = Showtime.objects.values("status", "starts_at").get(pk=booking.showtime_id)
    _refuse_unpayable(booking, _Show(**show), now or timezone.now())


def attach_payment(*, booking: Booking, intent_id: str, client_secret: str) -> None:
    """Store the payment opened for ``booking`` (its id and the secret its owner pays with).
    Decided on the locked row: refused with 409 when the hold lapsed or the booking moved on
    meanwhile (the caller then closes the payment), and when another payment is already
    attached. Storing the same one again is a no-op."""
    now = timezone.now()
    with transaction.atomic():
        show = _share_lock_show(booking.showtime_id)
        locked = _lock_booking(booking.pk)
        if locked.payment_intent_id == intent_id and locked.payment_client_secret:
            return
        _refuse_unpayable(locked, show, now)
        if locked.payment_intent_id not in ("", intent_id):
            raise Conflict(
                "Another payment is already open for this booking.", code="payment_conflict"
            )
        Booking.objects.filter(pk=booking.pk).update(
            payment_intent_id=intent_id, payment_client_secret=client_secret
        )
    booking.payment_intent_id = intent_id
    booking.payment_client_secret = client_secret


class PaymentOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already_confirmed"
    ALREADY_RECORDED = "already_recorded"
    REFUND_DUE = "refunding"


@dataclass(frozen=True)
class PaymentResult:
    outcome: PaymentOutcome
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.outcome}:{self.reason}" if self.reason else str(self.outcome)


def record_payment(
    *, booking: Booking, amount: Decimal, intent_id: str = "", now: datetime | None = None
) -> PaymentResult:
    """The payment provider says ``amount`` was paid for ``booking``: make the seats the
    customer's for good, or, when that can no longer be, record the money and owe it back.

    Decided on the locked rows:
    - confirmed already: nothing changes (a replayed or repeated event);
    - money already recorded on a booking that is not confirmed: nothing more (its refund is
      already owed);
    - cancelled (by its customer, an admin, or with its show): the money is recorded and owed
      back (``paid_after_cancel``);
    - pending or expired, its show cancelled or started: cancelled, money owed back
      (``show_cancelled``, ``show_started``);
    - pending or expired, its seats still free (a lapsed hold's seats are claimed again; the
      unique index refuses the claim when another buyer took one): confirmed, tickets issued,
      receipt queued (``booking_confirmed``);
    - otherwise its seats are lost: cancelled, money owed back (``seats_lost``).
    Money owed back is announced with ``refund_due`` in the same transaction (the payment layer
    refunds through its worker). ``intent_id`` is stored when the booking has none yet.
    """
    now = now or timezone.now()
    seat_ids = list(booking.seats.values_list("seat_id", flat=True))
    with transaction.atomic():
        show = _share_lock_show(booking.showtime_id)
        # Our rows and every live row on our seats, in the global order, then the booking.
        _lock_seat_rows(
            Q(showtime_id=booking.showtime_id, seat_id__in=seat_ids)
            & (Q(booking_id=booking.pk) | Q(is_live=True))
        )
        locked = Booking.objects.select_for_update(no_key=True).get(pk=booking.pk)
        if intent_id and not locked.payment_intent_id:
            Booking.objects.filter(pk=locked.pk).update(payment_intent_id=intent_id)
        if locked.status == S.CONFIRMED:
            return PaymentResult(PaymentOutcome.ALREADY_CONFIRMED)
        if locked.paid_amount > 0:
            return PaymentResult(PaymentOutcome.ALREADY_RECORDED)
        if locked.status == S.CANCELLED:
            Booking.objects.filter(pk=locked.pk).update(paid_amount=amount)
            locked.paid_amount = amount
            signals.refund_due.send(sender=Booking, booking=locked)
            return PaymentResult(PaymentOutcome.REFUND_DUE, "paid_after_cancel")
        reason = ""
        if show.status != ShowtimeStatus.SCHEDULED:
            reason = "show_cancelled"
        elif show.starts_at <= now:
            reason = "show_started"
        else:
            try:
                with transaction.atomic():
                    _release_lapsed(showtime_id=booking.showtime_id, seat_ids=seat_ids, now=now)
                    # Our own lapsed rows were just released too; claim every seat back.
                    BookingSeat.objects.filter(booking=locked).update(
                        is_live=True, hold_expires_at=None
                    )
            except IntegrityError:
                reason = "seats_lost"
        if reason:
            _cancel(locked, reason=reason, now=now, paid_amount=amount)
            return PaymentResult(PaymentOutcome.REFUND_DUE, reason)
        states.transition(locked, S.CONFIRMED, confirmed_at=now, paid_amount=amount)
        _issue_tickets(locked, now=now)
        seatmap_cache.seats_changed(locked.showtime_id, seat_ids)
        signals.booking_confirmed.send(sender=Booking, booking=locked)
    booking.refresh_from_db()
    return PaymentResult(PaymentOutcome.CONFIRMED)


def record_refund(*, booking: Booking, amount: Decimal) -> None:
    """Add a refund that the payment provider has confirmed. The database refuses a total
    refund above what was paid (booking_refund_not_above_paid)."""
    Booking.objects.filter(pk=booking.pk).update(refunded_amount=F("refunded_amount") + amount)
    booking.refresh_from_db(fields=["refunded_amount"])


def _issue_tickets(booking: Booking, *, now: datetime) -> None:
    Ticket.objects.bulk_create(
        Ticket(booking_seat=seat, code=tickets.new_code(), issued_at=now)
        for seat in BookingSeat.objects.filter(booking=booking).order_by("seat_id")
    )


# --- cancelling --------------------------------------------------------------------------------


def _cancel(
    locked: Booking,
    *,
    reason: str,
    now: datetime,
    notify: bool = True,
    announce: bool = True,
    **fields: Any,
) -> None:
    """The one way a booking becomes cancelled, on a booking locked by the caller's
    transaction (see :func:`_lock_booking`): move it through the state machine, free its
    seats, and tell the layers above in the same transaction: ``booking_cancelled`` (the
    email), ``refund_due`` when money is owed back, ``holds_ended`` when an unpaid payment may
    still be open. ``announce`` off: the caller announces the seat map change itself (once for
    many bookings)."""
    was_pending = locked.status == S.PENDING
    states.transition(locked, S.CANCELLED, cancelled_at=now, cancel_reason=reason, **fields)
    live = BookingSeat.objects.filter(booking=locked, is_live=True)
    freed = list(live.values_list("seat_id", flat=True))
    live.update(is_live=False)
    if freed and announce:
        seatmap_cache.seats_changed(locked.showtime_id, freed)
    was_paid = locked.paid_amount > 0
    if notify:
        signals.booking_cancelled.send(sender=Booking, booking=locked, was_paid=was_paid)
    if locked.paid_amount > locked.refunded_amount:
        signals.refund_due.send(sender=Booking, booking=locked)
    elif was_pending and locked.payment_intent_id:
        signals.holds_ended.send(sender=Booking, booking_ids=[locked.pk])


def cancel_booking(*, booking: Booking, by: User, now: datetime | None = None) -> Booking:
    """Cancel a booking for its customer (or an admin), decided on the locked row by
    :func:`boxoffice.booking.rules.cancel_refusal`.

    A pending booking whose hold runs: its seats are released. A confirmed one: released and
    refunded in full, if its show is more than BOOKING_CANCEL_CUTOFF_MINUTES away and none of
    its tickets has been used; an admin (customer service) may cancel and refund at any time.
    Anything else is a 409 saying why. Whether a ticket was used is read after the booking's
    lock, which check-in also takes (shared) before it admits: so either the door admitted first
    and this cancel sees it, or this cancel commits first and the door refuses the ticket.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_booking(booking.pk)
        refusal = rules.cancel_refusal(
            locked, by=by, now=now, used_seats=rules.used_seat_labels(locked)
        )
        if refusal is not None:
            raise refusal
        _cancel(
            locked, reason="admin" if by.is_admin and by != locked.user else "customer", now=now
        )
    booking.refresh_from_db()
    return booking


def cancel_bookings_of_show(*, showtime: Showtime, now: datetime | None = None) -> int:
    """The show was cancelled: end every booking of it that still holds or owns seats, one
    booking per transaction (a sold-out show is hundreds), whatever the cut-off. Paid ones are
    refunded in full, unpaid holds have their payment closed, and every customer with a running
    hold or a sale is emailed (``booking_cancelled`` with the reason ``show_cancelled``).
    Safe to repeat: it only finds bookings not yet ended."""
    now = now or timezone.now()
    ended = 0
    ids = Booking.objects.filter(
        showtime=showtime, status__in=[S.PENDING, S.CONFIRMED]
    ).values_list("pk", flat=True)
    for booking_id in list(ids):
        with transaction.atomic():
            locked = _lock_booking(booking_id)
            if locked.status not in (S.PENDING, S.CONFIRMED):
                continue  # ended meanwhile
            notify = states.effective_status(locked, now) != S.EXPIRED
            # The seat map is announced once, for the whole show, below.
            _cancel(locked, reason="show_cancelled", now=now, notify=notify, announce=False)
            ended += 1
    if ended:
        seatmap_cache.seats_changed(showtime.pk)
    return ended


def end_payable_lapsed_bookings(*, showtime_id: int, now: datetime | None = None) -> int:
    """The show's start, screen, movie or currency is about to change (the caller holds the
    show's row): end every booking of it whose hold lapsed while a payment was open for it.
    Such a payment can still succeed at the provider; it must then be judged against the show
    as it is now, where those seats may not exist or the time is another, so it is refunded
    (``paid_after_cancel``) instead of confirming seats of a show that has moved. The open
    payment is closed as for any ended hold (``holds_ended``); nobody is emailed: their hold
    had already lapsed. Running holds and sales are not touched: the caller refuses the change
    while there are any."""
    now = now or timezone.now()
    ids = list(
        Booking.objects.filter(showtime_id=showtime_id)
        .filter(Q(status=S.EXPIRED) | Q(status=S.PENDING, expires_at__lte=now))
        .exclude(payment_intent_id="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    for booking_id in ids:
        locked = _lock_booking(booking_id)
        if states.effective_status(locked, now) != S.EXPIRED:
            continue  # paid meanwhile: the caller's check of live bookings refuses the change
        _cancel(locked, reason="show_changed", now=now, notify=False)
    return len(ids)


# --- the tidy-up -------------------------------------------------------------------------------


def expire_bookings(*, booking_ids: set[int] | None = None, now: datetime | None = None) -> int:
    """Mark lapsed pending bookings expired and free their seats. Safe to run at any time and
    from any process: only rows still pending past their expiry are touched."""
    now = now or timezone.now()
    lapsed = Booking.objects.lapsed(now)
    if booking_ids is not None:
        lapsed = lapsed.filter(pk__in=booking_ids)
    ids = list(lapsed.values_list("pk", flat=True))
    if not ids:
        return 0
    with transaction.atomic():
        _lock_seat_rows(Q(booking_id__in=ids))
        freed: dict[int, list[int]] = {}
        for showtime_id, seat_id in (
            BookingSeat.objects.filter(booking_id__in=ids)
            .lapsed(now)
            .values_list("showtime_id", "seat_id")
        ):
            freed.setdefault(showtime_id, []).append(seat_id)
        # The same conditional update as states.transition, for many rows at once.
        expiring = Booking.objects.filter(
            pk__in=ids, status__in=states.ALLOWED[S.EXPIRED], expires_at__lte=now
        )
        with_payment = list(expiring.exclude(payment_intent_id="").values_list("pk", flat=True))
        expired = expiring.update(status=S.EXPIRED)
        BookingSeat.objects.filter(booking_id__in=ids).lapsed(now).update(is_live=False)
        for showtime_id in sorted(freed):
            seatmap_cache.seats_changed(showtime_id, freed[showtime_id])
        if with_payment:
            signals.holds_ended.send(sender=Booking, booking_ids=with_payment)
    return expired


def end_bookings_of_cancelled_shows() -> int:
    """Housekeeping: finish the sweep of any cancelled show whose bookings were not all ended
    (a crash between the show's cancellation and the end of its sweep)."""
    shows = Showtime.objects.filter(
        status=ShowtimeStatus.CANCELLED, bookings__status__in=[S.PENDING, S.CONFIRMED]
    ).distinct()
    return sum(cancel_bookings_of_show(showtime=show) for show in shows)


# --- price factors -----------------------------------------------------------------------------


def new_price_policy(*, by: User | None, **factors: object) -> PricePolicy:
    """Save a new version of the price factors; unspecified ones carry over. Shows' seat maps
    are re-rendered (their prices change); bookings keep the prices they were made with."""
    current = pricing.current_policy()
    values = {
        name: factors.get(name, getattr(current, name)) for name in PricePolicy.VERSION_FIELDS
    }
    with transaction.atomic():
        policy = PricePolicy.objects.create(created_by=by, **values)
        seatmap_cache.prices_changed()
    return policy


def expire_holds_of_show(*, showtime_id: int, now: datetime | None = None) -> int:
    """Tidy the lapsed holds of one show now (the live seat map calls it when a hold's time is
    up, so listeners hear of the freed seats although no request changed anything)."""
    now = now or timezone.now()
    ids = set(
        Booking.objects.filter(showtime_id=showtime_id).lapsed(now).values_list("pk", flat=True)
    )
    return expire_bookings(booking_ids=ids, now=now) if ids else 0


def drop_old_seat_changes(*, now: datetime | None = None) -> int:
    """Housekeeping: forget feed rows older than SEATMAP_FEED_RETENTION_HOURS (a stream that
    asks to resume from one gets a new snapshot)."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.SEATMAP_FEED_RETENTION_HOURS)
    deleted, _ = SeatChange.objects.filter(created_at__lt=cutoff).delete()
    return deleted

"""Every waitlist write: joining, leaving, making offers of freed seats, and settling entries
whose offer was paid, lapsed, or whose show ended.

How an offer is made (:func:`make_offers`, run by the worker per show: :mod:`.tasks`)
------------------------------------------------------------------------------------
The entries of a show are read in their order (``created_at``, ``id``). For each waiting entry
whose party fits now (:func:`boxoffice.booking.services.seats_together_available`: N seats side
by side, by the same rules as best available), one transaction:

1. takes the show's offers lock (``booking.locks.lock_offers``: a PostgreSQL advisory lock, the
   first lock in the global order), so two workers offer one show's seats one after the other
   and never out of the queue's order;
2. locks the entry's row, if it is still waiting (a customer leaving takes the same row first);
3. holds the best seats for the entry's customer through the booking app's own hold
   (``hold_best_available``, with WAITLIST_OFFER_MINUTES and the entry's id): every seat rule,
   the per-customer cap and the partial unique index on live seats apply, so a seat a buyer won
   meanwhile is never offered, and no seat is offered twice;
4. moves the entry from waiting to offered with a conditional UPDATE whose row count is
   checked (a second offer for one entry rolls back), and queues the offer email.

An entry whose party does not fit is passed over for now, never blocked on: an entry of 4 does
not stop an entry of 2 behind it. An entry whose customer is at the per-customer cap (holds of
their own on the show) is passed over too, and keeps its place for the next run.

An offer not paid in time ends the entry ``lapsed`` (it does not go back in the queue: its
seats go to the next entry; the customer may join again). A payment after the lapse follows the
booking app's late-payment rules (confirmed when the seats are still free, refunded otherwise),
and a confirmed one ends the entry ``booked``.

Lock order: the show's offers lock, then the entry's row, then the booking app's order (the
customer's row, the show, seat rows, the booking). A customer leaving locks the entry's row and
then cancels the offer (seat rows, the booking): the same order. A payment never locks an entry
(:func:`settle_offers` records a paid offer afterwards), so it cannot wait on a leave that
waits on the payment's seats.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from boxoffice.accounts.models import User
from boxoffice.booking import locks as booking_locks
from boxoffice.booking import services as booking
from boxoffice.booking.models import Booking, BookingStatus
from boxoffice.core.errors import Conflict, Invalid, NotFound
from boxoffice.core.locks import bounded
from boxoffice.notifications.models import EmailNotification
from boxoffice.notifications.receivers import queue_booking_email
from boxoffice.schedule.models import Showtime, ShowtimeStatus

from .models import ACTIVE, EntryStatus, WaitlistEntry

log = logging.getLogger(__name__)
E = EntryStatus

# Test hook for the negative control of the two-workers race: False makes the move to offered
# unconditional (tests/concurrency/test_waitlist_races.py). Never False in production.
CONDITIONAL_OFFER = True


def join(*, user: User, showtime: Showtime, quantity: int, base_url: str = "") -> WaitlistEntry:
    """Put ``user`` on the show's waitlist for ``quantity`` seats together. Refused while that
    many are on sale together (409 ``seats_available``: book them instead), for a show
    cancelled or started (409 ``show_cancelled``, ``show_started``), and when the customer
    already waits for this show (409 ``already_waiting``, the database's unique constraint)."""
    cap = settings.BOOKING_MAX_SEATS
    if not 1 <= quantity <= cap:
        raise Invalid(f"quantity must be between 1 and {cap}.", attr="quantity")
    _refuse_closed(showtime, timezone.now())
    if booking.seats_together_available(showtime=showtime, quantity=quantity):
        raise Conflict(
            f"{quantity} seats side by side are on sale for this show: book them instead.",
            code="seats_available",
        )
    try:
        with transaction.atomic():
            return WaitlistEntry.objects.create(
                user=user, showtime=showtime, quantity=quantity, base_url=base_url
            )
    except IntegrityError as exc:
        raise Conflict(
            "You are already on this show's waitlist; leave it first to change the number of "
            "seats.",
            code="already_waiting",
        ) from exc


def _refuse_closed(showtime: Showtime, now: datetime) -> None:
    if showtime.status != ShowtimeStatus.SCHEDULED:
        raise Conflict("This show has been cancelled.", code="show_cancelled")
    if showtime.starts_at <= now:
        raise Conflict("This show has already started.", code="show_started")


def leave(*, user: User, entry_id: int) -> None:
    """The customer leaves the waitlist (404 for anyone else's entry). An offer held for the
    entry ends at once (its seats go to the next entry). Leaving an entry that already ended
    changes nothing."""
    now = timezone.now()
    with bounded():
        entry = (
            WaitlistEntry.objects.select_for_update(no_key=True)
            .filter(pk=entry_id, user=user)
            .first()
        )
        if entry is None:
            raise NotFound("No such waitlist entry.")
        if entry.status not in ACTIVE:
            return
        ending = E.LEFT
        if entry.status == E.OFFERED and entry.offer_id is not None:
            offer = Booking.objects.get(pk=entry.offer_id)
            if offer.status == BookingStatus.PENDING and not offer.hold_has_lapsed(now):
                # Decided on the booking's locked row: a payment that landed first wins.
                with contextlib.suppress(Conflict):
                    booking.cancel_booking(booking=offer, by=user, now=now)
                offer.refresh_from_db(fields=["status"])
            if offer.status == BookingStatus.CONFIRMED:
                # Paid: the entry is booked, not left (the booking is cancelled as a booking).
                ending = E.BOOKED
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=ending, ended_at=now)


def settle_offers(*, showtime_id: int | None = None, now: datetime | None = None) -> int:
    """Bring entries up to date with their offers; the number changed. An offer that was paid
    ends its entry ``booked`` (also a late payment, after the entry lapsed or ended); an
    offered entry whose offer is no longer held (lapsed by time, expired, cancelled) ends
    ``lapsed``. Conditional UPDATEs, safe to repeat from any process.

    Payments do not write the entry themselves: a payment's transaction holds the offer's seat
    and booking rows, and an entry's row is locked before those (a customer leaving), so the
    payment writing the entry could deadlock with a leave. Reads show an entry as its offer
    says (``api.WaitlistEntrySerializer.get_status``) until this runs: after every seat change
    of the show with someone waiting, and every housekeeping tick."""
    now = now or timezone.now()
    entries = WaitlistEntry.objects.all()
    if showtime_id is not None:
        entries = entries.filter(showtime_id=showtime_id)
    paid = entries.filter(
        status__in=[E.OFFERED, E.LAPSED, E.ENDED], offer__status=BookingStatus.CONFIRMED
    ).update(status=E.BOOKED, ended_at=now)
    offers = Booking.objects.filter(
        Q(status__in=[BookingStatus.EXPIRED, BookingStatus.CANCELLED])
        | Q(status=BookingStatus.PENDING, expires_at__lte=now)
    )
    return paid + entries.filter(status=E.OFFERED, offer__in=offers).update(
        status=E.LAPSED, ended_at=now
    )


def end_entries(*, showtime_id: int, now: datetime | None = None) -> int:
    """The show was cancelled or has started: its waiting entries end, and offered ones whose
    offer is no longer held end lapsed (a hold never runs past the show's start, and a
    cancelled show's holds are cancelled with it)."""
    now = now or timezone.now()
    settle_offers(showtime_id=showtime_id, now=now)
    return WaitlistEntry.objects.filter(showtime_id=showtime_id, status=E.WAITING).update(
        status=E.ENDED, ended_at=now
    )


def make_offers(*, showtime_id: int) -> int:
    """Offer the show's free seats to its waiting entries, in their order (see the module
    docstring); the number of offers made. Safe to run at any time, from any process."""
    now = timezone.now()
    showtime = (
        Showtime.objects.select_related("screen__theater", "movie").filter(pk=showtime_id).first()
    )
    if showtime is None:
        return 0
    if showtime.status != ShowtimeStatus.SCHEDULED or showtime.starts_at <= now:
        end_entries(showtime_id=showtime_id, now=now)
        return 0
    settle_offers(showtime_id=showtime_id, now=now)
    waiting = WaitlistEntry.objects.filter(showtime_id=showtime_id, status=E.WAITING)
    fits: dict[int, bool] = {}  # quantity -> fits now (forgotten after each offer)
    made = 0
    for entry_id, quantity in waiting.order_by("created_at", "id").values_list("pk", "quantity"):
        if quantity not in fits:
            fits[quantity] = booking.seats_together_available(showtime=showtime, quantity=quantity)
        if not fits[quantity]:
            continue  # its party does not fit: the next entry may
        try:
            offered = _offer(entry_id=entry_id, showtime=showtime)
        except Conflict as exc:
            # no_adjacent_seats / seats_unavailable (taken since the look), hold_limit (the
            # customer holds seats of the show already): passed over, keeps its place.
            log.info("waitlist entry %s not offered now: %s", entry_id, exc.code)
            fits.pop(quantity, None)
            continue
        if offered:
            made += 1
            fits.clear()
    return made


class _Lost(Exception):
    """The entry stopped waiting between our read and our UPDATE: roll the offer back."""


def _lock_waiting_entry(entry_id: int) -> WaitlistEntry | None:
    """The entry's row, locked, if it is still waiting (a worker that waited for another's lock
    reads it as that one left it: offered, so not waiting any more)."""
    return (
        WaitlistEntry.objects.select_for_update(no_key=True, of=("self",))
        .select_related("user")
        .filter(pk=entry_id, status=E.WAITING)
        .first()
    )


def _offer(*, entry_id: int, showtime: Showtime) -> bool:
    now = timezone.now()
    try:
        with bounded():
            booking_locks.lock_offers(showtime.pk)
            entry = _lock_waiting_entry(entry_id)
            if entry is None:
                return False  # left, or offered by another worker meanwhile
            offer = booking.hold_best_available(
                user=entry.user,
                showtime=showtime,
                quantity=entry.quantity,
                hold_seconds=settings.WAITLIST_OFFER_MINUTES * 60,
                waitlist_entry=entry.pk,
            )
            status = E.BOOKED if offer.status == BookingStatus.CONFIRMED else E.OFFERED
            moving = WaitlistEntry.objects.filter(pk=entry.pk)
            if CONDITIONAL_OFFER:
                moving = moving.filter(status=E.WAITING)
            if not moving.update(status=status, offer=offer, offered_at=now):
                raise _Lost()
            if status == E.OFFERED:
                path = reverse("shop:checkout", kwargs={"booking_id": offer.pk})
                base = settings.PUBLIC_BASE_URL or entry.base_url
                queue_booking_email(offer, EmailNotification.Kind.OFFER, link=f"{base}{path}")
    except _Lost:
        return False
    return True


def sweep() -> int:
    """Housekeeping: end the entries of shows that started or were cancelled, settle lapsed
    offers, and offer seats that came free without any write (a hold that lapsed by time) on
    every show with someone waiting. Idempotent; safe from any number of workers."""
    now = timezone.now()
    closed = (
        WaitlistEntry.objects.filter(status__in=[E.WAITING, E.OFFERED])
        .filter(Q(showtime__starts_at__lte=now) | ~Q(showtime__status=ShowtimeStatus.SCHEDULED))
        .values_list("showtime_id", flat=True)
        .distinct()
    )
    for showtime_id in list(closed):
        end_entries(showtime_id=showtime_id, now=now)
    settle_offers(now=now)
    made = 0
    shows = (
        WaitlistEntry.objects.filter(status=E.WAITING).values_list("showtime_id", flat=True)
    ).distinct()
    for showtime_id in list(shows):
        made += make_offers(showtime_id=showtime_id)
    return made

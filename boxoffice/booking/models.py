"""Bookings, the seats they hold, and the price policy frozen on each.

How a seat is never sold twice
------------------------------
Every seat a booking holds or has bought is a :class:`BookingSeat` row with ``is_live=True``.
A partial unique index over ``(showtime, seat) WHERE is_live`` lets the database refuse a second
live row for the same seat of the same show, whatever the number of threads, processes or hosts
that race for it: the loser's INSERT fails with a unique violation when the winner commits, and
the service answers 409. Python's own availability check only produces a friendlier message.

A hold ends by time, not by a sweeper: a live row whose ``hold_expires_at`` has passed counts as
free in every read, and the next buyer of that seat flips it to ``is_live=False`` (in the same
transaction as their INSERT, in seat order) before inserting their own row. Paid seats have
``hold_expires_at`` NULL and never lapse.

Why the hold's deadline is stored twice
---------------------------------------
``Booking.expires_at`` and ``BookingSeat.hold_expires_at`` are written with the same value when
the hold is made, and answer two different questions. The seat row's says whether *that seat*
is taken: every availability read (the seat map, the live-seat count of a show, the check
before a hold, the index-backed ``is_live`` filter next to the partial unique index) decides
per seat row, without joining the booking, and a paid seat's is NULL (owned, never lapses)
while its booking keeps its ``expires_at`` as history. The booking's says what *the booking*
is (pending or expired: :mod:`.states`) and drives the tidy-up (index ``status, expires_at``).
Both are read through the one rule below (:func:`hold_lapsed_q`, :func:`hold_lapsed`).
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone

from boxoffice.catalog.models import Seat, Tier
from boxoffice.schedule.models import Showtime


class _DecimalOptions(TypedDict, total=False):
    """The DecimalField keywords shared below (typed so mypy checks them against the field)."""

    max_digits: int
    decimal_places: int
    validators: list[BaseValidator]


# Price factors: 0.00 to 10.00, for the admin site and the API alike.
FACTOR: _DecimalOptions = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0.00")), MaxValueValidator(Decimal("10.00"))],
}
MONEY: _DecimalOptions = {"max_digits": 10, "decimal_places": 2}


class PricePolicy(models.Model):
    """The factors prices are computed from. Policies are never edited in place: saving new
    factors adds a row, and the newest row is the one in force. A booking keeps a reference to
    the policy its prices came from, and each of its seats keeps its own frozen price."""

    standard_factor = models.DecimalField(**FACTOR, default=Decimal("1.00"))
    premium_factor = models.DecimalField(**FACTOR, default=Decimal("1.25"))
    vip_factor = models.DecimalField(**FACTOR, default=Decimal("1.50"))
    morning_factor = models.DecimalField(**FACTOR, default=Decimal("0.80"))
    morning_ends_at = models.TimeField(
        default=time(12, 0),
        help_text="Shows starting before this local time get the morning factor.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The fields that make up a version (everything but bookkeeping).
    FACTOR_FIELDS = ("standard_factor", "premium_factor", "vip_factor", "morning_factor")
    VERSION_FIELDS = (*FACTOR_FIELDS, "morning_ends_at")

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "price policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    standard_factor__gte=0,
                    premium_factor__gte=0,
                    vip_factor__gte=0,
                    morning_factor__gte=0,
                ),
                name="booking_pricepolicy_factors_nonnegative",
            )
        ]

    def __str__(self) -> str:
        return f"Price policy #{self.pk} ({self.created_at:%Y-%m-%d %H:%M})"

    def tier_factor(self, tier: str) -> Decimal:
        return {
            Tier.STANDARD: self.standard_factor,
            Tier.PREMIUM: self.premium_factor,
            Tier.VIP: self.vip_factor,
        }[Tier(tier)]


class BookingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"
    EXCHANGED = "exchanged", "Exchanged"


# --- The one home of "has this hold lapsed?" -----------------------------------------------
# A hold's deadline has passed at ``now`` when it is at or before ``now`` (a hold ending at
# 18:00:00 no longer holds at 18:00:00). A seat row holds its seat while it is live and either
# paid (no deadline) or its hold has not lapsed (:func:`live_seat_q`). A pending booking whose
# hold lapsed *is* expired, whether or not the tidy-up has rewritten its row
# (:func:`lapsed_booking_q`, :meth:`Booking.hold_has_lapsed`). Every read and write asks these;
# the schedule app (below this one) gets :func:`live_seat_q` registered at start-up
# (boxoffice.booking.apps, schedule.selectors.register_live_seat_rule).


def hold_lapsed_q(now: datetime, field: str) -> models.Q:
    """Rows whose hold deadline ``field`` has passed at ``now``."""
    return models.Q(**{f"{field}__lte": now})


def hold_running_q(now: datetime, field: str) -> models.Q:
    """Rows whose hold deadline ``field`` is still ahead at ``now``."""
    return models.Q(**{f"{field}__gt": now})


def hold_lapsed(deadline: datetime, now: datetime) -> bool:
    """The same rule for one deadline in hand."""
    return deadline <= now


def live_seat_q(now: datetime, prefix: str = "") -> models.Q:
    """Seat rows holding their seat at ``now``; ``prefix`` reaches them across a relation
    (``"booking_seats__"`` from a showtime)."""
    return models.Q(**{f"{prefix}is_live": True}) & (
        models.Q(**{f"{prefix}hold_expires_at__isnull": True})
        | hold_running_q(now, f"{prefix}hold_expires_at")
    )


def lapsed_booking_q(now: datetime) -> models.Q:
    """Bookings still pending whose hold has lapsed: expired, even before the tidy-up."""
    return models.Q(status=BookingStatus.PENDING) & hold_lapsed_q(now, "expires_at")


class BookingSeatQuerySet(models.QuerySet["BookingSeat"]):
    def live(self, now: datetime) -> BookingSeatQuerySet:
        """Rows that hold or own their seat at ``now``."""
        return self.filter(live_seat_q(now))

    def lapsed(self, now: datetime) -> BookingSeatQuerySet:
        """Rows still marked live whose hold ran out: their seats are free."""
        return self.filter(models.Q(is_live=True) & hold_lapsed_q(now, "hold_expires_at"))

    def running_holds(self, now: datetime) -> BookingSeatQuerySet:
        """Rows held by a hold that has not lapsed (not the paid ones)."""
        return self.filter(models.Q(is_live=True) & hold_running_q(now, "hold_expires_at"))


def _sum_or_zero(rows: models.QuerySet, by: str, field: str) -> Coalesce:
    """A correlated subquery: the sum of ``field`` over ``rows`` (grouped by ``by``), 0.00 when
    there are none."""
    total = rows.order_by().values(by).annotate(sum=models.Sum(field)).values("sum")
    money = models.DecimalField(**MONEY)
    return Coalesce(
        models.Subquery(total, output_field=money),
        models.Value(Decimal("0.00")),
        output_field=money,
    )


class BookingQuerySet(models.QuerySet["Booking"]):
    def running_holds(self, now: datetime) -> BookingQuerySet:
        """Pending bookings whose hold has not lapsed."""
        return self.filter(
            models.Q(status=BookingStatus.PENDING) & hold_running_q(now, "expires_at")
        )

    def lapsed(self, now: datetime) -> BookingQuerySet:
        """Pending bookings whose hold has lapsed: expired, even before the tidy-up says so."""
        return self.filter(lapsed_booking_q(now))

    def with_effective_status(self, status: str, now: datetime) -> BookingQuerySet:
        """Bookings that *are* ``status`` at ``now`` (a lapsed pending booking is expired)."""
        if status == BookingStatus.PENDING:
            return self.running_holds(now)
        if status == BookingStatus.EXPIRED:
            return self.filter(models.Q(status=status) | lapsed_booking_q(now))
        return self.filter(status=status)

    def payment_unsettled(self) -> BookingQuerySet:
        """Bookings with a payment opened whose money may not be recorded yet: pending,
        expired, or cancelled with nothing recorded as paid (reconciliation asks Stripe)."""
        return self.exclude(payment_intent_id="").filter(
            models.Q(status__in=[BookingStatus.PENDING, BookingStatus.EXPIRED])
            | models.Q(status=BookingStatus.CANCELLED, paid_amount=0)
        )

    def unpaid_with_payment_open(self) -> BookingQuerySet:
        """Bookings not confirmed, nothing paid, with a payment opened: it should be closed."""
        return (
            self.filter(paid_amount=0)
            .exclude(status=BookingStatus.CONFIRMED)
            .exclude(payment_intent_id="")
        )

    def with_live_total(self) -> BookingQuerySet:
        """Annotate ``live_total``: the price of the seats each booking still holds or owns."""
        live = BookingSeat.objects.filter(booking=models.OuterRef("pk"), is_live=True)
        return self.annotate(live_total=_sum_or_zero(live, "booking", "price"))

    def with_passed_on(self) -> BookingQuerySet:
        """Annotate ``passed_on``: the credit an exchanged booking handed to the booking it was
        exchanged for (the one whose exchange completed: confirmed at some time), else 0."""
        successor = Booking.objects.filter(
            exchange_of=models.OuterRef("pk"), confirmed_at__isnull=False
        )
        return self.annotate(passed_on=_sum_or_zero(successor, "exchange_of", "credit"))

    def breaking_money_invariant(self) -> BookingQuerySet:
        """Bookings whose money is not settled (the money invariant, docs/api.md): what a
        booking holds (``paid_amount + credit - refunded_amount``, credit counting once its
        exchange completed) is not what it should keep: the price of its live seats when
        confirmed, the credit it passed on when exchanged, nothing otherwise. A partial
        cancellation's or an ended booking's refund still owed, or too much refunded. Empty
        once every refund has gone through. The one rule of what is owed is
        :func:`boxoffice.booking.rules.refund_owed`."""
        holds = (
            models.F("paid_amount")
            + models.Case(
                models.When(confirmed_at__isnull=False, then=models.F("credit")),
                default=models.Value(Decimal("0.00")),
                output_field=models.DecimalField(**MONEY),
            )
            - models.F("refunded_amount")
        )
        return (
            self.with_live_total()
            .with_passed_on()
            .annotate(
                holds_money=models.ExpressionWrapper(
                    holds, output_field=models.DecimalField(**MONEY)
                )
            )
            .filter(
                (
                    models.Q(status=BookingStatus.CONFIRMED)
                    & ~models.Q(holds_money=models.F("live_total"))
                )
                | (
                    models.Q(status=BookingStatus.EXCHANGED)
                    & ~models.Q(holds_money=models.F("passed_on"))
                )
                | (
                    ~models.Q(status__in=[BookingStatus.CONFIRMED, BookingStatus.EXCHANGED])
                    & ~models.Q(holds_money=0)
                )
            )
        )


class Booking(models.Model):
    """A customer's claim on seats of one show. ``status`` changes only through
    :mod:`boxoffice.booking.states`; a pending booking whose ``expires_at`` has passed reads as
    expired everywhere, whether or not a tidy-up has rewritten its row yet."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="bookings"
    )
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(
        max_length=16, choices=BookingStatus.choices, default=BookingStatus.PENDING
    )
    expires_at = models.DateTimeField(help_text="End of the hold while pending.")
    total = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    price_policy = models.ForeignKey(PricePolicy, on_delete=models.PROTECT, related_name="bookings")
    paid_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    credit = models.DecimalField(
        **MONEY,
        default=Decimal("0.00"),
        help_text="Money brought from another booking (an exchange): counts as paid.",
    )
    payment_intent_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    payment_client_secret = models.CharField(
        max_length=255, blank=True, default="", help_text="Handed to the booking's owner to pay."
    )
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=64, blank=True, default="")
    # The waitlist entry this hold was offered to (boxoffice.waitlist), or None. A plain id, not
    # a foreign key: the booking app sits below the waitlist and knows nothing of its models;
    # the waitlist hands the id down when it makes the offer (hold_best_available), and its
    # entry's ``offer`` is the foreign key that the database checks.
    waitlist_entry = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        db_index=True,
        help_text="The waitlist entry this hold is offered to.",
    )
    exchange_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchanges",
        help_text="The booking this one was exchanged from (its value is this one's credit).",
    )

    objects = BookingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="booking_user_recent_idx"),
            models.Index(fields=["showtime", "status"], name="booking_showtime_status_idx"),
            models.Index(fields=["status", "expires_at"], name="booking_status_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=BookingStatus.values), name="booking_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="booking_total_nonnegative"
            ),
            # Refunds come out of what was paid here and the credit brought from an exchange
            # (money captured on the exchanged booking's payment).
            models.CheckConstraint(
                condition=models.Q(
                    refunded_amount__lte=models.F("paid_amount") + models.F("credit")
                ),
                name="booking_refund_not_above_paid",
            ),
            models.CheckConstraint(
                condition=models.Q(credit__gte=0), name="booking_credit_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"Booking #{self.pk} ({self.status})"

    @property
    def amount_due(self) -> Decimal:
        """What is left to pay: the total less the credit (an exchange), never negative."""
        return max(self.total - self.credit, Decimal("0.00"))

    def hold_has_lapsed(self, now: datetime) -> bool:
        """Pending, and its hold has lapsed: the booking *is* expired (:func:`lapsed_booking_q`
        for queries)."""
        return self.status == BookingStatus.PENDING and hold_lapsed(self.expires_at, now)


class BookingSeat(models.Model):
    """One seat of a booking, with its price frozen at hold time (and how it was computed).
    ``hold_expires_at`` repeats the booking's deadline on purpose: see "Why the hold's deadline
    is stored twice" in this module's docstring."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="seats")
    showtime = models.ForeignKey(Showtime, on_delete=models.PROTECT, related_name="booking_seats")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="booking_seats")
    tier = models.CharField(max_length=16, choices=Tier.choices)
    base_price = models.DecimalField(**MONEY)
    tier_factor = models.DecimalField(max_digits=5, decimal_places=2)
    time_factor = models.DecimalField(max_digits=5, decimal_places=2)
    price = models.DecimalField(**MONEY)
    is_live = models.BooleanField(default=True, help_text="Holds or owns the seat right now.")
    hold_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When an unpaid hold lapses; NULL once paid."
    )
    cancelled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When this seat alone was cancelled (a partial cancellation); its seat is "
        "free and its ticket no longer admits.",
    )

    objects = BookingSeatQuerySet.as_manager()

    class Meta:
        ordering = ["booking_id", "seat__row_index", "seat__number"]
        constraints = [
            # THE no-double-sale guarantee; see the module docstring.
            models.UniqueConstraint(
                fields=["showtime", "seat"],
                condition=models.Q(is_live=True),
                name="booking_seat_live_once",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="booking_seat_price_nonnegative"
            ),
            # A seat cancelled on its own never holds its seat again.
            models.CheckConstraint(
                condition=models.Q(cancelled_at__isnull=True) | models.Q(is_live=False),
                name="booking_seat_cancelled_not_live",
            ),
        ]
        indexes = [models.Index(fields=["showtime", "is_live"], name="booking_seat_live_idx")]

    def __str__(self) -> str:
        return f"Booking #{self.booking_id}, seat {self.seat_id}"


class Ticket(models.Model):
    """One admission: a seat of a confirmed booking. ``code`` carries its own signature (see
    :mod:`boxoffice.booking.tickets`), so the door rejects a forged code without a lookup."""

    booking_seat = models.OneToOneField(
        BookingSeat, on_delete=models.CASCADE, related_name="ticket"
    )
    code = models.CharField(max_length=64, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code


class SeatChange(models.Model):
    """The seat-change feed: one row per write that changed seats of a show, in the writer's
    transaction (see ``seatmap_cache.seats_changed``). Its id is the stream position: a seat
    map's ``version`` is the newest id it reflects, and the live seat map (boxoffice.live)
    tells listeners about each row and replays rows after a client's ``Last-Event-ID``.

    ``seat_ids`` lists the seats whose status changed; NULL means the whole map changed (its
    prices or its grid). Rows are only a trigger: listeners read the seats' status as it is now,
    so a row delivered twice or late never shows a wrong status. Kept for
    SEATMAP_FEED_RETENTION_HOURS; a client asking for older ones gets a new snapshot."""

    showtime = models.ForeignKey(
        Showtime, on_delete=models.CASCADE, related_name="seat_changes", db_constraint=False
    )
    seat_ids = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["showtime", "id"], name="booking_seatchange_show_idx")]

    def __str__(self) -> str:
        return f"Change #{self.pk} of show {self.showtime_id}"

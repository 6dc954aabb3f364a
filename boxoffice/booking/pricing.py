"""The one place prices are computed.

    price = base_price x tier factor x time factor, rounded once, half-up, to cents
            (to whole units for zero-decimal currencies such as jpy)

The time factor is the morning factor when the show starts before ``morning_ends_at`` on the
wall clock of the theater's own time zone (so 10:30 in Berlin is morning whatever UTC says),
and 1.00 otherwise. Factors come from the newest :class:`PricePolicy`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings

from boxoffice.catalog.models import Tier
from boxoffice.core.money import round_money
from boxoffice.schedule.models import Showtime

from . import locks
from .models import PricePolicy

ONE = Decimal("1.00")


@dataclass(frozen=True)
class SeatPrice:
    base_price: Decimal
    tier_factor: Decimal
    time_factor: Decimal
    price: Decimal


def current_policy() -> PricePolicy:
    """The policy in force; the first call on an empty database creates it from settings.

    First callers are serialised by a transaction-scoped advisory lock, not a row lock: this
    runs inside a hold's transaction, and a ``FOR UPDATE`` on the new policy's row, held until
    that hold commits, blocked the other holds' commits (the foreign-key check on the policy
    takes a key-share lock on it), while they held seats this hold waited for: a deadlock among
    the first holds on a fresh database (tests/concurrency/test_booking_races.py showed it)."""
    policy = PricePolicy.objects.order_by("-id").first()
    if policy is not None:
        return policy
    with locks.atomic():
        locks.lock_first_policy()
        policy = PricePolicy.objects.order_by("-id").first()
        if policy is None:
            factors = settings.PRICE_FACTORS
            policy = PricePolicy.objects.create(
                standard_factor=factors["standard"],
                premium_factor=factors["premium"],
                vip_factor=factors["vip"],
                morning_factor=factors["morning"],
            )
    return policy


def time_factor(*, policy: PricePolicy, starts_at: datetime, timezone_name: str) -> Decimal:
    local_start = starts_at.astimezone(ZoneInfo(timezone_name))
    return policy.morning_factor if local_start.time() < policy.morning_ends_at else ONE


def seat_price(
    *,
    policy: PricePolicy,
    base_price: Decimal,
    tier: str,
    starts_at: datetime,
    timezone_name: str,
    currency: str,
) -> SeatPrice:
    """One seat's price, rounded once, half-up, to what the currency can charge: cents for
    most, whole units for zero-decimal currencies (jpy, krw, ...)."""
    tier_factor = policy.tier_factor(tier)
    t_factor = time_factor(policy=policy, starts_at=starts_at, timezone_name=timezone_name)
    return SeatPrice(
        base_price=base_price,
        tier_factor=tier_factor,
        time_factor=t_factor,
        price=round_money(base_price * tier_factor * t_factor, currency),
    )


def tier_factors(policy: PricePolicy) -> dict[str, Decimal]:
    """Each seat tier's factor under ``policy`` (tier -> factor), in the tiers' order."""
    return {tier: policy.tier_factor(tier) for tier in Tier.values}


def from_price(*, policy: PricePolicy, showtime: Showtime) -> Decimal:
    """The lowest price a seat of the show can have under ``policy``: the cheapest tier's (a
    show's "from" price). Reads the show's theater (``screen__theater``)."""
    return min(
        seat_price(
            policy=policy,
            base_price=showtime.base_price,
            tier=tier,
            starts_at=showtime.starts_at,
            timezone_name=showtime.screen.theater.timezone,
            currency=showtime.currency,
        ).price
        for tier in Tier.values
    )


@dataclass(frozen=True)
class Quote:
    """Prices for some seats of one show: each seat's (by seat id) and their total."""

    policy: PricePolicy
    seats: dict[int, SeatPrice]
    total: Decimal


def quote(*, showtime: Showtime, seat_tiers: Mapping[int, str]) -> Quote:
    """What ``seat_tiers`` (seat id -> tier) of ``showtime`` cost now: the one computation
    behind a hold's frozen prices and the seat map's displayed ones. One price per tier."""
    policy = current_policy()
    timezone_name = showtime.screen.theater.timezone
    by_tier: dict[str, SeatPrice] = {}
    prices: dict[int, SeatPrice] = {}
    for seat_id, tier in seat_tiers.items():
        if tier not in by_tier:
            by_tier[tier] = seat_price(
                policy=policy,
                base_price=showtime.base_price,
                tier=tier,
                starts_at=showtime.starts_at,
                timezone_name=timezone_name,
                currency=showtime.currency,
            )
        prices[seat_id] = by_tier[tier]
    return Quote(
        policy=policy,
        seats=prices,
        total=sum((p.price for p in prices.values()), Decimal("0.00")),
    )

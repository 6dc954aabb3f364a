"""Property tests of the one price formula (boxoffice.booking.pricing) and of money conversion.

    price = base x tier factor x time factor, rounded once, half-up, to cents;
    morning = the show starts before ``morning_ends_at`` on the THEATER's wall clock.

The expected price is computed independently, in integer arithmetic (cents x hundredths x
hundredths, rounded half-up by hand), so a mistake in the Decimal code cannot hide in the test.
Start instants span several years, with a strategy aimed at the minutes around DST transitions.
No database: the policy is a PricePolicy built in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from boxoffice.booking.models import PricePolicy
from boxoffice.booking.pricing import seat_price, time_factor
from boxoffice.catalog.models import Tier
from boxoffice.core.money import from_minor_units, round_money, to_minor_units

# The autouse fixtures of tests/conftest.py (settings, the Stripe emulator) are function-scoped
# but harmless to share between examples: nothing here touches them.
PROPERTY = settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ALL_ZONES = sorted(available_timezones())
# Zones with DST (both hemispheres), half- and quarter-hour offsets, and the far east/west.
DST_ZONES = [
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
    "America/Santiago",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Europe/Dublin",
    "America/St_Johns",
]
FIRST_YEAR, LAST_YEAR = 2020, 2030

bases = st.decimals(
    min_value=Decimal("0.00"), max_value=Decimal("999.99"), places=2, allow_nan=False
)
factors = st.decimals(
    min_value=Decimal("0.00"), max_value=Decimal("5.00"), places=2, allow_nan=False
)
tiers = st.sampled_from([t.value for t in Tier])
zones = st.sampled_from(ALL_ZONES)
instants = st.datetimes(
    min_value=datetime(FIRST_YEAR, 1, 1),
    max_value=datetime(LAST_YEAR, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)


@cache
def _transitions(zone_name: str) -> tuple[datetime, ...]:
    """UTC instants at which ``zone_name`` changes its UTC offset, FIRST_YEAR..LAST_YEAR."""
    zone = ZoneInfo(zone_name)
    found = []
    day = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
    while day < end:
        low, high = day, day + timedelta(days=1)
        if low.astimezone(zone).utcoffset() != high.astimezone(zone).utcoffset():
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = mid
                else:
                    high = mid
            found.append(high.replace(microsecond=0))
        day += timedelta(days=1)
    return tuple(found)


@st.composite
def near_dst_transition(draw: st.DrawFn) -> tuple[datetime, str]:
    """(an instant within three hours of one of the zone's DST switches, the zone)."""
    zone_name = draw(st.sampled_from(DST_ZONES))
    switch = draw(st.sampled_from(_transitions(zone_name)))
    offset = draw(st.integers(min_value=-3 * 3600, max_value=3 * 3600))
    return switch + timedelta(seconds=offset), zone_name


starts = st.one_of(st.tuples(instants, zones), near_dst_transition())


@st.composite
def policies(draw: st.DrawFn) -> PricePolicy:
    return PricePolicy(
        standard_factor=draw(factors),
        premium_factor=draw(factors),
        vip_factor=draw(factors),
        morning_factor=draw(factors),
        morning_ends_at=draw(
            st.one_of(st.times(), st.sampled_from([time(0, 0), time(12, 0), time(23, 59, 59)]))
        ),
    )


def _expected_price(base: Decimal, tier_factor: Decimal, time_factor_: Decimal) -> Decimal:
    """Half-up to cents, by integer arithmetic (every input has exactly two places)."""
    millionths = int(base * 100) * int(tier_factor * 100) * int(time_factor_ * 100)
    cents, rest = divmod(millionths, 10_000)
    if rest * 2 >= 10_000:
        cents += 1
    return Decimal(cents).scaleb(-2)


def _is_morning(policy: PricePolicy, starts_at: datetime, zone_name: str) -> bool:
    return starts_at.astimezone(ZoneInfo(zone_name)).time() < policy.morning_ends_at


def test_dst_strategy_finds_transitions() -> None:
    """The DST strategy is not vacuous: every chosen zone switches at least twice a year."""
    for zone_name in DST_ZONES:
        assert len(_transitions(zone_name)) >= 2 * (LAST_YEAR - FIRST_YEAR), zone_name


@PROPERTY
@given(policy=policies(), base=bases, tier=tiers, start=starts)
# 11:59:59 and 12:00:00 in Berlin, on the day summer time starts (01:00 UTC).
@example(
    policy=PricePolicy(morning_factor=Decimal("0.80"), morning_ends_at=time(12, 0)),
    base=Decimal("10.00"),
    tier=Tier.STANDARD,
    start=(datetime(2024, 3, 31, 9, 59, 59, tzinfo=UTC), "Europe/Berlin"),
)
@example(
    policy=PricePolicy(morning_factor=Decimal("0.80"), morning_ends_at=time(12, 0)),
    base=Decimal("10.00"),
    tier=Tier.STANDARD,
    start=(datetime(2024, 3, 31, 10, 0, 0, tzinfo=UTC), "Europe/Berlin"),
)
# A half cent: rounds up, never to even.
@example(
    policy=PricePolicy(premium_factor=Decimal("1.25"), morning_factor=Decimal("1.00")),
    base=Decimal("0.02"),
    tier=Tier.PREMIUM,
    start=(datetime(2025, 6, 1, 18, 0, tzinfo=UTC), "UTC"),
)
def test_seat_price_formula(
    policy: PricePolicy, base: Decimal, tier: str, start: tuple[datetime, str]
) -> None:
    starts_at, zone_name = start
    result = seat_price(
        policy=policy,
        base_price=base,
        tier=tier,
        starts_at=starts_at,
        timezone_name=zone_name,
        currency="usd",
    )
    price = result.price

    assert price.as_tuple().exponent == -2, f"{price!r} has not exactly two places"
    assert price >= 0, price
    assert not price.is_signed(), price

    morning = _is_morning(policy, starts_at, zone_name)
    expected_time = policy.morning_factor if morning else Decimal("1.00")
    assert result.time_factor == expected_time
    assert result.tier_factor == policy.tier_factor(tier)
    assert result.base_price == base

    assert price == _expected_price(base, policy.tier_factor(tier), expected_time)
    assert price == (base * policy.tier_factor(tier) * expected_time).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


@PROPERTY
@given(policy=policies(), start=starts)
def test_time_factor_follows_the_theaters_wall_clock(
    policy: PricePolicy, start: tuple[datetime, str]
) -> None:
    starts_at, zone_name = start
    factor = time_factor(policy=policy, starts_at=starts_at, timezone_name=zone_name)
    # The same instant expressed in any other offset changes nothing: only the theater's zone
    # counts, never the zone the datetime happens to carry.
    elsewhere = starts_at.astimezone(ZoneInfo("Pacific/Kiritimati"))
    assert factor == time_factor(policy=policy, starts_at=elsewhere, timezone_name=zone_name)
    if _is_morning(policy, starts_at, zone_name):
        assert factor == policy.morning_factor
    else:
        assert factor == Decimal("1.00")


@PROPERTY
@given(policy=policies(), low=bases, high=bases, tier=tiers, start=starts)
def test_price_is_monotonic_in_base(
    policy: PricePolicy, low: Decimal, high: Decimal, tier: str, start: tuple[datetime, str]
) -> None:
    low, high = sorted([low, high])
    starts_at, zone_name = start

    def price(base: Decimal) -> Decimal:
        return seat_price(
            policy=policy,
            base_price=base,
            tier=tier,
            starts_at=starts_at,
            timezone_name=zone_name,
            currency="usd",
        ).price

    assert price(low) <= price(high)


@PROPERTY
@given(
    amount=st.decimals(
        min_value=Decimal("0"), max_value=Decimal("10000"), places=6, allow_nan=False
    )
)
def test_usd_prices_round_half_up_to_two_places(amount: Decimal) -> None:
    cents = round_money(amount, "usd")
    assert cents.as_tuple().exponent == -2
    assert abs(cents - amount) <= Decimal("0.005")
    # Half-up: exactly half a cent goes up, anything less goes down.
    micro = int(amount * 1_000_000)
    whole, rest = divmod(micro, 10_000)
    assert cents == Decimal(whole + (1 if rest >= 5_000 else 0)).scaleb(-2)


@PROPERTY
@given(policy=policies(), base=bases, tier=tiers, start=starts)
def test_prices_round_trip_through_minor_units_usd(
    policy: PricePolicy, base: Decimal, tier: str, start: tuple[datetime, str]
) -> None:
    starts_at, zone_name = start
    price = seat_price(
        policy=policy,
        base_price=base,
        tier=tier,
        starts_at=starts_at,
        timezone_name=zone_name,
        currency="usd",
    ).price
    for currency in ("usd", "USD"):
        units = to_minor_units(price, currency)
        assert isinstance(units, int)
        assert units == int(price * 100)
        back = from_minor_units(units, currency)
        assert back == price
        assert back.as_tuple().exponent == -2


@PROPERTY
@given(units=st.integers(min_value=0, max_value=10**10))
def test_minor_units_round_trip(units: int) -> None:
    usd = from_minor_units(units, "usd")
    assert usd.as_tuple().exponent == -2
    assert to_minor_units(usd, "usd") == units
    jpy = from_minor_units(units, "jpy")
    assert jpy.as_tuple().exponent == 0
    assert jpy == units
    assert to_minor_units(jpy, "jpy") == units


@PROPERTY
@given(yen=st.integers(min_value=0, max_value=10**9), cents=st.integers(min_value=0, max_value=99))
def test_jpy_has_no_minor_units(yen: int, cents: int) -> None:
    whole = Decimal(yen)
    assert to_minor_units(whole, "jpy") == yen
    assert to_minor_units(whole.quantize(Decimal("0.01")), "jpy") == yen  # "1250.00" is fine
    assert from_minor_units(to_minor_units(whole, "jpy"), "jpy") == whole
    if cents:
        fractional = whole + Decimal(cents).scaleb(-2)
        try:
            to_minor_units(fractional, "jpy")
        except ValueError:
            pass
        else:
            raise AssertionError(f"{fractional} JPY was accepted although yen have no cents")

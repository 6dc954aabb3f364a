"""Property tests of money conversion (boxoffice.core.money) for every kind of currency Stripe
counts: zero-decimal (whole units), two-decimal (hundredths) and three-decimal (thousandths
whose last digit is 0), plus Stripe's special case ISK (hundredths of whole kronur).

The expected minor units are computed independently, from an integer number of steps and the
table's published sets, so a slip in the Decimal code cannot hide in the test. No database.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.core.money import (
    STRIPE_CURRENCIES,
    THREE_DECIMAL,
    ZERO_DECIMAL,
    UnsupportedCurrency,
    from_minor_units,
    quantum,
    round_money,
    to_minor_units,
    validate_currency,
)

PROPERTY = settings(max_examples=300, deadline=None)

currencies = st.sampled_from(sorted(STRIPE_CURRENCIES))
cases = st.sampled_from(["lower", "upper", "title"])


def spelled(currency: str, case: str) -> str:
    return {"lower": currency, "upper": currency.upper(), "title": currency.title()}[case]


def minor_per_unit(currency: str) -> int:
    """How many of Stripe's minor units make one unit (independent of the module's code)."""
    if currency in ZERO_DECIMAL:
        return 1
    if currency in THREE_DECIMAL:
        return 1000
    return 100


def step(currency: str) -> int:
    """The smallest chargeable amount, in minor units."""
    if currency in THREE_DECIMAL:
        return 10  # Stripe: the last digit must be 0
    if currency == "isk":
        return 100  # Stripe's special case: two-decimal, whole kronur only
    return 1


@PROPERTY
@given(currency=currencies, case=cases, steps=st.integers(min_value=0, max_value=10**9))
def test_minor_units_round_trip_through_decimal(currency: str, case: str, steps: int) -> None:
    units = steps * step(currency)
    amount = from_minor_units(units, spelled(currency, case))
    assert isinstance(amount, Decimal)
    assert amount * minor_per_unit(currency) == units  # the value, computed independently
    assert amount.as_tuple().exponent == quantum(currency).as_tuple().exponent
    back = to_minor_units(amount, spelled(currency, case))
    assert type(back) is int
    assert back == units


@PROPERTY
@given(currency=currencies, steps=st.integers(min_value=0, max_value=10**9))
def test_decimal_round_trips_through_minor_units(currency: str, steps: int) -> None:
    amount = quantum(currency) * steps  # any amount at the stored precision
    units = to_minor_units(amount, currency)
    assert type(units) is int
    assert units % step(currency) == 0
    assert from_minor_units(units, currency) == amount


@PROPERTY
@given(
    currency=st.sampled_from(sorted(THREE_DECIMAL)),
    cents=st.integers(min_value=0, max_value=10**9),
)
def test_three_decimal_amounts_go_out_in_thousandths_ending_in_zero(
    currency: str, cents: int
) -> None:
    amount = Decimal(cents).scaleb(-2)  # 12.50 KWD
    units = to_minor_units(amount, currency)
    assert units == cents * 10  # 12500, which Stripe reads as 12.500
    assert units % 10 == 0


@PROPERTY
@given(
    currency=currencies,
    whole=st.integers(min_value=0, max_value=10**6),
    extra=st.integers(min_value=1, max_value=9999),
)
def test_precision_beyond_what_stripe_takes_is_refused(
    currency: str, whole: int, extra: int
) -> None:
    # A non-zero remainder below the quantum: 1234 + 0.0001 .. 0.9999 x quantum.
    amount = (Decimal(whole) + Decimal(extra).scaleb(-4)) * quantum(currency)
    with pytest.raises(ValueError, match="precision"):
        to_minor_units(amount, currency)
    units = (whole * step(currency)) + 1
    if step(currency) > 1:
        with pytest.raises(ValueError, match="precision"):
            from_minor_units(units, currency)


@PROPERTY
@given(currency=currencies, value=st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_never_money(currency: str, value: float) -> None:
    with pytest.raises(TypeError):
        to_minor_units(value, currency)  # type: ignore[arg-type]


@PROPERTY
@given(
    currency=currencies,
    amount=st.decimals(
        min_value=Decimal("0"), max_value=Decimal("1000000"), places=4, allow_nan=False
    ),
)
def test_round_money_is_always_chargeable_and_within_half_a_quantum(
    currency: str, amount: Decimal
) -> None:
    rounded = round_money(amount, currency)
    assert isinstance(rounded, Decimal)
    assert abs(rounded - amount) <= quantum(currency) / 2
    assert type(to_minor_units(rounded, currency)) is int
    assert round_money(rounded, currency) == rounded  # idempotent


@PROPERTY
@given(code=st.text(min_size=0, max_size=5))
def test_only_the_table_is_accepted(code: str) -> None:
    if code.lower() in STRIPE_CURRENCIES:
        assert validate_currency(code) == code.lower()
    else:
        with pytest.raises(UnsupportedCurrency):
            validate_currency(code)

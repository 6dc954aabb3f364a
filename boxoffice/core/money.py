"""Money conversion, in one place: Decimal amounts in the code, integer minor units at the
payment provider. Never a float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies without minor units (Stripe's list of zero-decimal currencies).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)


def _exponent(currency: str) -> int:
    return 0 if currency.lower() in ZERO_DECIMAL else 2


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Decimal("12.50"), "usd" -> 1250. Refuses amounts with more precision than the currency."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")
    scaled = amount * (10 ** _exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more precision than {currency} allows")
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """1250, "usd" -> Decimal("12.50")."""
    exponent = _exponent(currency)
    quantum = Decimal(1).scaleb(-exponent) if exponent else Decimal(1)
    return (Decimal(units).scaleb(-exponent)).quantize(quantum, rounding=ROUND_HALF_UP)

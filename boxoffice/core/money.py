"""Money conversion, in one place: Decimal amounts in the code, integer minor units at the
payment provider. Never a float.

Stripe counts currencies three ways (https://docs.stripe.com/currencies, "Minor units in API
amounts"), and so does this table:

- zero-decimal (jpy, krw, ...): amounts are sent in whole units (1500 is 1500 yen), so prices
  are whole numbers;
- three-decimal (bhd, jod, kwd, omr, tnd): amounts are sent in thousandths whose last digit must
  be 0 (12.50 KWD is 12500), so prices have at most two places, which is what we store;
- two-decimal: everything else Stripe supports, sent in hundredths (12.50 USD is 1250).

Stripe's special case ISK stays two-decimal in the API but must be a multiple of 100 (whole
kronur). HUF and TWD are two-decimal for charges (their payout rules do not concern us).

Prices are stored as ``DecimalField(decimal_places=2)``; :func:`quantum` is the finest amount a
currency may hold here (1 for whole-unit currencies, 0.01 otherwise) and :func:`round_money`
rounds to it. A currency outside the table is one we cannot charge correctly:
:func:`validate_currency` refuses it with :class:`UnsupportedCurrency`, naming it.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from django.utils.translation import get_language

# Stripe's supported presentment currencies (https://docs.stripe.com/currencies), lower case as
# Stripe spells them. Review against that page when Stripe adds or retires a currency.
# fmt: off
STRIPE_CURRENCIES = frozenset([
    "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt", "bgn",
    "bhd", "bif", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf", "clp",
    "cny", "cop", "crc", "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp",
    "gbp", "gel", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr",
    "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr", "kmf", "krw", "kwd", "kyd", "kzt", "lak", "lbp",
    "lkr", "lrd", "lsl", "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn",
    "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen", "pgk", "php", "pkr",
    "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle",
    "sos", "srd", "szl", "thb", "tjs", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx", "usd",
    "uyu", "uzs", "vnd", "vuv", "wst", "xaf", "xcd", "xof", "xpf", "yer", "zar", "zmw",
])

# Stripe's documented zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset([
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf",
    "xof", "xpf",
])
# fmt: on

# Stripe's documented three-decimal currencies (https://docs.stripe.com/currencies#three-decimal):
# sent in thousandths, the last digit 0.
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Stripe's special cases (https://docs.stripe.com/currencies#special-cases): two-decimal in the
# API, but only whole units may be charged (the amount a multiple of 100).
WHOLE_UNITS_IN_HUNDREDTHS = frozenset(["isk"])


class UnsupportedCurrency(ValueError):
    """A currency Stripe cannot charge, or one this table does not know how to count."""

    def __init__(self, code: object) -> None:
        self.currency = code
        shown = code.upper() if isinstance(code, str) else repr(code)
        super().__init__(
            f"{shown} is not a currency we can charge: Stripe does not support it. "
            "Use a lower-case ISO 4217 code Stripe supports, such as usd, eur, gbp, jpy or kwd."
        )


class ExcessPrecision(ValueError):
    """An amount finer than the currency can be charged in (half a yen, a single fils)."""


def validate_currency(code: str) -> str:
    """The currency's code in lower case, as Stripe spells it; :class:`UnsupportedCurrency`
    (a ValueError naming it) when Stripe cannot charge it."""
    if not isinstance(code, str) or code.lower() not in STRIPE_CURRENCIES:
        raise UnsupportedCurrency(code)
    return code.lower()


def exponent(currency: str) -> int:
    """How many decimal places Stripe's minor unit has: 0, 2 or 3."""
    code = validate_currency(currency)
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def _step(code: str) -> int:
    """The smallest amount Stripe takes, in minor units."""
    if code in THREE_DECIMAL:
        return 10
    if code in WHOLE_UNITS_IN_HUNDREDTHS:
        return 100
    return 1


def quantum(currency: str) -> Decimal:
    """The finest amount of the currency, as prices are stored and charged: ``Decimal("1")``
    for whole-unit currencies (jpy, isk), ``Decimal("0.01")`` for the rest (three-decimal
    currencies included: a hundredth of a dinar is ten fils, a chargeable amount)."""
    code = validate_currency(currency)
    places = exponent(code) - (len(str(_step(code))) - 1)  # kwd: 3 - 1; isk: 2 - 2
    return Decimal(1).scaleb(-places)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the currency's :func:`quantum`."""
    _require_decimal(amount)
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def require_whole_quantum(amount: Decimal, currency: str, *, name: str = "the price") -> None:
    """A price must be a whole number of the currency's :func:`quantum` (whole yen, cents):
    otherwise :class:`ExcessPrecision`, whose message names the input as ``name``. The one rule
    for prices typed by people (the showtime API and the admin form both call it);
    :class:`UnsupportedCurrency` for a currency we cannot charge."""
    _require_decimal(amount)
    step = quantum(currency)
    if not amount.is_finite() or amount % step:
        shown = currency.upper()
        raise ExcessPrecision(
            f"{amount} is not a price in {shown}: {name} must be a whole number for {shown} "
            f"(in steps of {step})."
        )


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Decimal("12.50"), "usd" -> 1250; "kwd" -> 12500; Decimal("1500"), "jpy" -> 1500.
    Refuses (:class:`ExcessPrecision`) an amount finer than Stripe can charge."""
    _require_decimal(amount)
    if not amount.is_finite():
        raise ValueError(f"money must be a finite amount, not {amount}")
    code = validate_currency(currency)
    scaled = amount.scaleb(exponent(code))
    if scaled != scaled.to_integral_value() or int(scaled) % _step(code):
        raise ExcessPrecision(
            f"{amount} has more precision than {code.upper()} can be charged in "
            f"(the smallest amount is {quantum(code)})"
        )
    return int(scaled)


def from_minor_units(units: int, currency: str) -> Decimal:
    """1250, "usd" -> Decimal("12.50"); 12500, "kwd" -> Decimal("12.50"); 1500, "jpy" ->
    Decimal("1500"). The result has the currency's :func:`quantum` as its exponent; units
    Stripe would not take (12345 KWD thousandths) are refused rather than rounded."""
    if isinstance(units, bool) or not isinstance(units, int):
        raise TypeError(f"minor units must be an int, not {type(units).__name__}")
    code = validate_currency(currency)
    if units % _step(code):
        raise ExcessPrecision(
            f"{units} minor units have more precision than {code.upper()} can be charged in"
        )
    return Decimal(units).scaleb(-exponent(code)).quantize(quantum(code))


def _require_decimal(amount: object) -> None:
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(amount).__name__}")


# --- Amounts for people ---------------------------------------------------------------------
# How an amount is written for a reader, by the active language (the shop's pages, the emails,
# and, through :func:`money_style`, the pages' scripts): ``$12.50`` and ``€1,234.50`` in
# English, ``12,50 $`` and ``1.234,50 €`` in German. Currencies without a symbol here are
# written with their code (``CHF 12.50``, ``12,50 CHF``). The API itself never formats money:
# it answers decimal strings and the currency code.

CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}


class MoneyStyle(NamedTuple):
    decimal: str
    group: str
    symbol_first: bool


MONEY_STYLES = {
    "en": MoneyStyle(decimal=".", group=",", symbol_first=True),
    "de": MoneyStyle(decimal=",", group=".", symbol_first=False),
}
DEFAULT_MONEY_STYLE = "en"


def _style_of(language: str | None) -> MoneyStyle:
    base = (language or get_language() or DEFAULT_MONEY_STYLE).split("-")[0].lower()
    return MONEY_STYLES.get(base, MONEY_STYLES[DEFAULT_MONEY_STYLE])


def format_money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """``amount`` of ``currency`` as a reader of ``language`` (default: the active language)
    writes it, to the currency's :func:`quantum`: ``format_money(Decimal("12.5"), "eur")`` is
    ``€12.50`` in English and ``12,50 €`` in German; ``Decimal("1500"), "jpy"`` is ``¥1,500``."""
    _require_decimal(amount)
    code = validate_currency(currency)
    style = _style_of(language)
    value = round_money(amount, code)
    sign = "-" if value < 0 else ""
    whole, _, fraction = f"{abs(value):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, tail = whole[:-3], whole[-3:]
        groups.insert(0, tail)
    number = style.group.join([whole, *groups]) + (style.decimal + fraction if fraction else "")
    symbol = CURRENCY_SYMBOLS.get(code)
    if style.symbol_first:
        return f"{sign}{symbol}{number}" if symbol else f"{sign}{code.upper()} {number}"
    return f"{sign}{number} {symbol or code.upper()}"


def money_style(language: str | None = None) -> dict[str, object]:
    """The rules of :func:`format_money` for the pages' scripts (``shop/i18n.js``), which
    apply them to the API's decimal strings: one home for how money reads."""
    style = _style_of(language)
    return {
        "decimal": style.decimal,
        "group": style.group,
        "symbolFirst": style.symbol_first,
        "symbols": CURRENCY_SYMBOLS,
        # Written without a fraction (their quantum is 1): the API sends "1500.00" for ¥1,500.
        "wholeUnits": sorted(ZERO_DECIMAL | WHOLE_UNITS_IN_HUNDREDTHS),
    }

"""Currencies as Stripe counts them (docs/api.md, "Money": "Currencies follow Stripe's minor units").

Zero-decimal currencies (jpy, krw, ...) are sent in whole units and priced in whole numbers;
three-decimal ones (bhd, jod, kwd, omr, tnd) are sent in thousandths whose last digit is 0;
the rest in hundredths. A currency Stripe cannot charge is refused with 400 naming it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from boxoffice.booking.models import Booking
from boxoffice.core import money
from boxoffice.core.money import (
    THREE_DECIMAL,
    ZERO_DECIMAL,
    UnsupportedCurrency,
    exponent,
    from_minor_units,
    quantum,
    round_money,
    to_minor_units,
    validate_currency,
)
from boxoffice.payments import gateway
from boxoffice.schedule.models import Showtime
from tests.conftest import future

SHOWTIMES = "/api/v1/showtimes/"

# --- the table ---------------------------------------------------------------------------------


def test_the_table_follows_stripes_documented_lists():
    assert {
        *[
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
        ],
    } == ZERO_DECIMAL
    assert {"bhd", "jod", "kwd", "omr", "tnd"} == THREE_DECIMAL
    assert ZERO_DECIMAL <= money.STRIPE_CURRENCIES
    assert THREE_DECIMAL <= money.STRIPE_CURRENCIES
    assert {"usd", "eur", "gbp", "chf", "sek", "isk", "huf", "twd"} <= money.STRIPE_CURRENCIES
    assert all(len(c) == 3 and c.islower() for c in money.STRIPE_CURRENCIES)


@pytest.mark.parametrize(
    ("currency", "places"),
    [("usd", 2), ("EUR", 2), ("jpy", 0), ("KRW", 0), ("kwd", 3), ("bhd", 3), ("tnd", 3)],
)
def test_exponent(currency, places):
    assert exponent(currency) == places


@pytest.mark.parametrize("code", ["xyz", "zzz", "usdt", "", "eu", "btc", "jp¥"])
def test_a_currency_stripe_cannot_charge_is_refused_naming_it(code):
    with pytest.raises(UnsupportedCurrency) as refused:
        validate_currency(code)
    assert isinstance(refused.value, ValueError)
    assert repr(code.upper()) in str(refused.value) or code.upper() in str(refused.value)
    for convert in (exponent, quantum):
        with pytest.raises(UnsupportedCurrency):
            convert(code)
    with pytest.raises(UnsupportedCurrency):
        to_minor_units(Decimal("1.00"), code)
    with pytest.raises(UnsupportedCurrency):
        from_minor_units(100, code)


def test_validate_currency_lower_cases():
    assert validate_currency("JPY") == "jpy"
    assert validate_currency("Kwd") == "kwd"


# --- conversion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        (Decimal("12.50"), "kwd", 12500),  # thousandths: Stripe reads 12500 as 12.500 KWD
        (Decimal("12.5"), "KWD", 12500),
        (Decimal("0.01"), "bhd", 10),
        (Decimal("12.340"), "jod", 12340),
        (Decimal("1500"), "jpy", 1500),
        (Decimal("1500.00"), "krw", 1500),
        (Decimal("12.50"), "usd", 1250),
        (Decimal("1500.00"), "isk", 150000),  # Stripe's special case: two-decimal, whole kronur
    ],
)
def test_to_minor_units_for_every_kind(amount, currency, units):
    result = to_minor_units(amount, currency)
    assert result == units
    assert type(result) is int


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (Decimal("12.345"), "kwd"),  # a single fils: Stripe wants the last digit 0
        (Decimal("0.001"), "omr"),
        (Decimal("12.3456"), "kwd"),
        (Decimal("12.50"), "jpy"),
        (Decimal("1500.50"), "isk"),
        (Decimal("12.345"), "usd"),
    ],
)
def test_amounts_finer_than_stripe_takes_are_refused(amount, currency):
    with pytest.raises(ValueError, match="precision"):
        to_minor_units(amount, currency)


@pytest.mark.parametrize("bad", [12.5, 12, "12.50", None, True])
def test_money_is_a_decimal_never_a_float(bad):
    with pytest.raises(TypeError):
        to_minor_units(bad, "usd")


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_amounts_are_refused(bad):
    with pytest.raises(ValueError, match="finite"):
        to_minor_units(bad, "usd")


@pytest.mark.parametrize(
    ("units", "currency", "text"),
    [
        (12500, "kwd", "12.50"),
        (10, "bhd", "0.01"),
        (1500, "jpy", "1500"),
        (1250, "usd", "12.50"),
        (150000, "isk", "1500"),
    ],
)
def test_from_minor_units_gives_the_stored_precision(units, currency, text):
    amount = from_minor_units(units, currency)
    assert isinstance(amount, Decimal)
    assert str(amount) == text


@pytest.mark.parametrize(("units", "currency"), [(12345, "kwd"), (1, "tnd"), (150050, "isk")])
def test_from_minor_units_refuses_what_stripe_would_not_send(units, currency):
    with pytest.raises(ValueError, match="precision"):
        from_minor_units(units, currency)


@pytest.mark.parametrize("bad", [12.5, "1250", Decimal("1250"), True])
def test_from_minor_units_takes_an_int(bad):
    with pytest.raises(TypeError):
        from_minor_units(bad, "usd")


@pytest.mark.parametrize(
    ("currency", "step"), [("usd", "0.01"), ("jpy", "1"), ("kwd", "0.01"), ("isk", "1")]
)
def test_quantum_is_the_precision_prices_are_stored_in(currency, step):
    assert quantum(currency) == Decimal(step)
    assert str(quantum(currency)) == step


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("1251.25", "jpy", "1251"),
        ("1251.50", "jpy", "1252"),  # half up
        ("999.5", "krw", "1000"),
        ("12.345", "usd", "12.35"),
        ("12.344", "kwd", "12.34"),
        ("0.005", "eur", "0.01"),
    ],
)
def test_round_money_half_up_to_the_quantum(amount, currency, rounded):
    result = round_money(Decimal(amount), currency)
    assert str(result) == rounded
    to_minor_units(result, currency)  # always chargeable


@pytest.mark.parametrize(
    ("amount", "currency", "whole"),
    [("1200", "jpy", True), ("1200.00", "jpy", True), ("1200.5", "jpy", False),
     ("12.50", "kwd", True), ("12.5", "usd", True), ("12.345", "usd", False)],
)  # fmt: skip
def test_require_whole_quantum(amount, currency, whole):
    if whole:
        money.require_whole_quantum(Decimal(amount), currency)
    else:
        with pytest.raises(money.ExcessPrecision, match="must be a whole number for"):
            money.require_whole_quantum(Decimal(amount), currency)


# --- showtimes through the API -----------------------------------------------------------------


def _post(client, movie, screen, **data):  # type: ignore[no-untyped-def]
    body = {
        "movie": movie.id,
        "screen": screen.id,
        "starts_at": future(days=3, hour=18).isoformat(),
        "base_price": "1200",
        **data,
    }
    return client.post(SHOWTIMES, body, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(("currency", "price"), [("JPY", "1200"), ("krw", "15000.00")])
def test_a_japanese_or_korean_cinema_schedules_whole_number_prices(
    admin_api, movie, screen, currency, price
):
    response = _post(admin_api, movie, screen, currency=currency, base_price=price)
    assert response.status_code == 201, response.content
    show = Showtime.objects.get(pk=response.json()["id"])
    assert show.currency == currency.lower()
    assert show.base_price == Decimal(price)


@pytest.mark.django_db
def test_a_yen_price_with_cents_is_refused_naming_the_rule(admin_api, movie, screen):
    response = _post(admin_api, movie, screen, currency="jpy", base_price="1200.50")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == "base_price"
    assert "JPY" in error["detail"]
    assert "whole" in error["detail"]
    assert not Showtime.objects.exists()


@pytest.mark.django_db
def test_changing_a_yen_show_to_a_price_with_cents_is_refused(admin_api, movie, screen):
    created = _post(admin_api, movie, screen, currency="jpy", base_price="1200")
    assert created.status_code == 201, created.content
    url = f"{SHOWTIMES}{created.json()['id']}/"
    response = admin_api.patch(url, {"base_price": "1200.25"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["attr"] == "base_price"
    assert Showtime.objects.get().base_price == Decimal("1200")
    assert admin_api.patch(url, {"base_price": "1300"}, format="json").status_code == 200


@pytest.mark.django_db
def test_kwd_prices_keep_their_cents(admin_api, movie, screen):
    response = _post(admin_api, movie, screen, currency="KWD", base_price="12.50")
    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "kwd"
    assert response.json()["base_price"] == "12.50"


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["xyz", "QQQ", "btc"])
def test_an_unknown_currency_is_refused_with_400_naming_it(admin_api, movie, screen, code):
    response = _post(admin_api, movie, screen, currency=code, base_price="12.00")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["attr"] == "currency"
    assert code.upper() in error["detail"]
    assert not Showtime.objects.exists()


# --- what reaches Stripe -----------------------------------------------------------------------


def _intent_amount(client, showtime, n=2):  # type: ignore[no-untyped-def]
    seats = client.get(f"/api/v1/showtimes/{showtime.id}/seats/").json()["seats"]
    ids = [s["id"] for s in seats if s["status"] == "available"][:n]
    held = client.post("/api/v1/bookings/", {"showtime": showtime.id, "seats": ids}, format="json")
    assert held.status_code == 201, held.content
    booking = Booking.objects.get(pk=held.json()["id"])
    if not booking.payment_intent_id:  # the PaymentIntent opens when the customer pays
        paid = client.post(f"/api/v1/bookings/{booking.pk}/pay/")
        assert paid.status_code == 200, paid.content
        booking.refresh_from_db()
    return booking, gateway.retrieve_payment_intent(booking.payment_intent_id)


@pytest.mark.django_db(transaction=True)
def test_a_kwd_booking_is_sent_to_stripe_in_thousandths(customer_api, make_showtime):
    show = make_showtime(base_price=Decimal("12.50"), currency="kwd")
    booking, intent = _intent_amount(customer_api, show)
    assert booking.total == Decimal("37.50")  # two VIP seats at 18.75
    assert intent.currency == "kwd"
    assert intent.amount == 37500  # not 3750, which Stripe reads as 3.750 KWD


@pytest.mark.django_db(transaction=True)
def test_a_yen_booking_is_sent_to_stripe_in_yen(customer_api, make_showtime):
    show = make_showtime(base_price=Decimal("1200"), currency="jpy")
    booking, intent = _intent_amount(customer_api, show)
    assert booking.total == Decimal("3600")  # two VIP seats at 1800
    assert intent.currency == "jpy"
    assert intent.amount == 3600

"""Unit tests: money conversion to the provider's minor units, and self-signed ticket codes."""

from __future__ import annotations

import io
import string
from decimal import Decimal

import pytest
from PIL import Image

from boxoffice.booking import tickets
from boxoffice.core.money import from_minor_units, to_minor_units

# --- money -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "units"),
    [
        (Decimal("12.50"), "usd", 1250),
        (Decimal("12.5"), "usd", 1250),
        (Decimal("0.01"), "usd", 1),
        (Decimal("0.00"), "usd", 0),
        (Decimal("30"), "USD", 3000),  # case does not matter
        (Decimal("99999999.99"), "eur", 9999999999),
        (Decimal("1500"), "jpy", 1500),  # zero-decimal: yen are the minor unit
        (Decimal("1500.00"), "jpy", 1500),
        (Decimal("1200"), "krw", 1200),
    ],
)
def test_to_minor_units(amount, currency, units):
    result = to_minor_units(amount, currency)
    assert result == units
    assert type(result) is int


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (Decimal("12.345"), "usd"),  # a tenth of a cent
        (Decimal("0.001"), "usd"),
        (Decimal("1500.5"), "jpy"),  # half a yen
        (Decimal("0.01"), "jpy"),
    ],
)
def test_to_minor_units_refuses_amounts_finer_than_the_currency(amount, currency):
    with pytest.raises(ValueError, match="precision"):
        to_minor_units(amount, currency)


@pytest.mark.parametrize(
    ("units", "currency", "text"),
    [(1250, "usd", "12.50"), (1, "usd", "0.01"), (3000, "usd", "30.00"), (1500, "jpy", "1500")],
)
def test_from_minor_units(units, currency, text):
    amount = from_minor_units(units, currency)
    assert isinstance(amount, Decimal)
    assert str(amount) == text


@pytest.mark.parametrize("currency", ["usd", "eur", "jpy"])
def test_minor_units_round_trip(currency):
    for units in (0, 1, 99, 100, 1234567):
        assert to_minor_units(from_minor_units(units, currency), currency) == units


# --- ticket codes ------------------------------------------------------------------------------


def test_new_codes_are_authentic_and_unique():
    codes = {tickets.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert code.startswith("BX-")
        assert tickets.is_authentic(code)
        assert tickets.is_authentic(f"  {code.lower()} ")  # as typed or scanned


def test_any_altered_character_fails():
    code = tickets.new_code()
    alphabet = string.ascii_uppercase + string.digits + "-="
    for index, original in enumerate(code):
        for replacement in alphabet:
            if replacement == original:
                continue
            altered = code[:index] + replacement + code[index + 1 :]
            assert not tickets.is_authentic(altered), (index, replacement)


def test_truncated_extended_and_malformed_codes_fail():
    code = tickets.new_code()
    for bad in (code[:-1], code + "A", code.replace("-", ""), "", "BX--", "X" * 500, None, 42):
        assert not tickets.is_authentic(bad)  # type: ignore[arg-type]


def test_a_code_signed_with_another_key_fails(settings):
    settings.TICKET_SIGNING_KEY = "another-installation"
    foreign = tickets.new_code()
    settings.TICKET_SIGNING_KEY = "our-key"
    assert not tickets.is_authentic(foreign)
    assert tickets.is_authentic(tickets.new_code())


def test_qr_png_is_a_png_of_the_code():
    import qrcode

    code = tickets.new_code()
    png = tickets.qr_png(code)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.verify()
    image = Image.open(io.BytesIO(png)).convert("L")
    # No QR decoder is installed; compare the image, module by module, with the symbol that
    # encodes this code (6 px per module, as tickets.qr_png draws it, border included).
    expected = qrcode.QRCode(box_size=6, border=2)
    expected.add_data(code)
    expected.make(fit=True)
    matrix = expected.get_matrix()
    assert image.size == (len(matrix) * 6, len(matrix) * 6)
    drawn = [
        [image.getpixel((x * 6 + 3, y * 6 + 3)) < 128 for x in range(len(row))]
        for y, row in enumerate(matrix)
    ]
    assert drawn == matrix

"""Row names in spreadsheet order: A..Z, then AA, AB, ... (bijective base 26)."""

from __future__ import annotations

import re

ROW_NAME = re.compile(r"^[A-Z]{1,3}$")


def row_name(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    if index < 0:
        raise ValueError("row index must be >= 0")
    name = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        name = chr(ord("A") + rem) + name
    return name


def row_index(name: str) -> int:
    """The inverse of :func:`row_name`: "A" -> 0, "AA" -> 26."""
    if not ROW_NAME.match(name):
        raise ValueError(f"not a row name: {name!r}")
    n = 0
    for char in name:
        n = n * 26 + (ord(char) - ord("A") + 1)
    return n - 1

"""Query-string filters shared by the apps."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

# Largest id the databases store (bigint): anything above is refused as input, not overflowed.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An object id in the query string: a whole number from 1 to the bigint maximum, so
    ``?user=1e300`` is a 400 that names the parameter, never an overflow in the database."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)

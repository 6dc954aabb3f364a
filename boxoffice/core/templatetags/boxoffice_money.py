"""``{{ amount|money:currency }}``: an amount as the active language writes it (``€12.50``,
``12,50 €``), by :func:`boxoffice.core.money.format_money`, the one home of that rule."""

from __future__ import annotations

from decimal import Decimal

from django import template

from boxoffice.core.money import format_money

register = template.Library()


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_money(Decimal(amount), currency)

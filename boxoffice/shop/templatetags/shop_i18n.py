"""``{% shop_i18n %}``: the scripts' catalog for the page's language (see ``shop/i18n.py``)."""

from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString

from boxoffice.shop.i18n import page_data

register = template.Library()


@register.simple_tag
def shop_i18n() -> SafeString:
    return json_script(page_data(), "shop-i18n")

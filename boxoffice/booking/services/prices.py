"""Price factors: a new version of the policy (the prices themselves: boxoffice.booking.pricing)."""

from __future__ import annotations

from django.db import transaction

from boxoffice.accounts.models import User

from .. import pricing, seatmap_cache
from ..models import PricePolicy


def new_price_policy(*, by: User | None, **factors: object) -> PricePolicy:
    """Save a new version of the price factors; unspecified ones carry over. Shows' seat maps
    are re-rendered (their prices change); bookings keep the prices they were made with."""
    current = pricing.current_policy()
    values = {
        name: factors.get(name, getattr(current, name)) for name in PricePolicy.VERSION_FIELDS
    }
    with transaction.atomic():
        policy = PricePolicy.objects.create(created_by=by, **values)
        seatmap_cache.prices_changed()
    return policy

"""Local calendar days in a theater's own time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from django.db.models import Q


def local_day_bounds(day: date, tz: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` in ``tz`` as aware datetimes. On a daylight-saving change day the
    span is 23 or 25 hours, which is why the end is the next local midnight, not start + 24h."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def local_date_q(day: date, *, timezones: Iterable[str], start_field: str, tz_field: str) -> Q:
    """A filter for rows whose ``start_field`` falls on ``day`` in the time zone named by
    ``tz_field``: one range per distinct time zone, OR-ed, so the database can use an index on
    the start column."""
    q = Q(pk__in=[])
    if not date.min < day < date.max:
        # The first and last days datetime can hold: their bounds in some zone (or in UTC, as
        # the database stores them) would overflow, and nothing is scheduled then anyway.
        return q
    for name in sorted(set(timezones)):
        start, end = local_day_bounds(day, zoneinfo.ZoneInfo(name))
        q |= Q(**{tz_field: name, f"{start_field}__gte": start, f"{start_field}__lt": end})
    return q

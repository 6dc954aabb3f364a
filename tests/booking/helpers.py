"""Small helpers shared by the booking, report and race tests. They talk to the API the way a
client would; the only direct database writes move a hold's clock into the past (time passing)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from rest_framework.test import APIClient

from boxoffice.booking.models import Booking, BookingSeat
from boxoffice.catalog.models import Screen, Seat
from boxoffice.schedule.models import Showtime

BOOKINGS = "/api/v1/bookings/"


def seat_ids(target: Showtime | Screen, *labels: str) -> list[int]:
    """Seat ids of a screen (or a show's screen) by label, in the order given."""
    screen_id = target.screen_id if isinstance(target, Showtime) else target.pk
    by_label = {
        f"{row}{number}": pk
        for pk, row, number in Seat.objects.filter(screen_id=screen_id).values_list(
            "pk", "row", "number"
        )
    }
    return [by_label[label] for label in labels]


def hold(client: APIClient, showtime: Showtime | int, seats: Iterable[Any], **extra: Any) -> Any:
    """POST /api/v1/bookings/ as ``client``; ``seats`` are ids (or anything, to test validation)."""
    showtime_id = showtime.pk if isinstance(showtime, Showtime) else showtime
    return client.post(
        BOOKINGS, {"showtime": showtime_id, "seats": list(seats)}, format="json", **extra
    )


def hold_labels(client: APIClient, showtime: Showtime, *labels: str, **extra: Any) -> Any:
    return hold(client, showtime, seat_ids(showtime, *labels), **extra)


def seat_map(client: APIClient, showtime: Showtime) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/showtimes/{showtime.pk}/seats/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"showtime", "currency", "version", "screen", "seats"}
    assert body["showtime"] == showtime.pk
    return body["seats"]


def statuses(client: APIClient, showtime: Showtime) -> dict[str, str]:
    """label -> status from the public seat map."""
    return {seat["label"]: seat["status"] for seat in seat_map(client, showtime)}


def seats_available(client: APIClient, showtime: Showtime) -> int:
    response = client.get("/api/v1/showtimes/", {"page_size": 100})
    assert response.status_code == 200
    (row,) = [r for r in response.json()["results"] if r["id"] == showtime.pk]
    return row["seats_available"]


def lapse(booking_id: int, *, ago: timedelta = timedelta(seconds=1)) -> None:
    """Time passes: the booking's hold ended ``ago``. Only the clock moves; no sweeper runs."""
    past = timezone.now() - ago
    Booking.objects.filter(pk=booking_id).update(expires_at=past)
    BookingSeat.objects.filter(booking_id=booking_id, hold_expires_at__isnull=False).update(
        hold_expires_at=past
    )


def error_codes(response: Any) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]


def error_text(response: Any) -> str:
    """Every error detail and attr of a drf-standardized-errors body, as one string."""
    body = response.json()
    assert "errors" in body, body
    return " | ".join(f"{e.get('attr')}: {e['detail']}" for e in body["errors"])


def error_attrs(response: Any) -> list[str | None]:
    return [e.get("attr") for e in response.json()["errors"]]


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"timestamp without offset: {value}"
    return parsed


def live_rows(showtime: Showtime, *, seat_id: int | None = None) -> int:
    rows = BookingSeat.objects.filter(showtime=showtime, is_live=True)
    if seat_id is not None:
        rows = rows.filter(seat_id=seat_id)
    return rows.count()


def money(value: str) -> Decimal:
    assert isinstance(value, str), f"money must be a string, got {value!r}"
    assert len(value.split(".")[-1]) == 2, f"money needs two decimal places: {value!r}"
    return Decimal(value)

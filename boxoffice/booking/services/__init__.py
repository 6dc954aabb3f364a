"""Every booking write, one module per concern:

- :mod:`.holds`: holding named seats or the best available ones (validation, seat rules, the
  per-customer cap, the hold's transaction);
- :mod:`.payments`: whether a booking can be paid, the payment attached to it, recording a
  payment or a refund, issuing tickets;
- :mod:`.cancellation`: the one way a booking becomes cancelled, and who ends bookings;
- :mod:`.exchange`: exchanging a confirmed booking for other seats; :mod:`.confirming`: the
  tickets of a confirmed booking and the end of an exchange;
- :mod:`.tidy`: the housekeeping (expiring lapsed holds, finishing cancelled shows' sweeps,
  dropping old feed rows);
- :mod:`.prices`: a new version of the price factors;
- :mod:`.seats`: which seats are taken, whether N are free together, freeing lapsed holds'
  seats.

The lock order, the advisory lock keys and every lock helper live in
:mod:`boxoffice.booking.locks`; each module calls them as ``locks.lock_booking(...)``, so a test
that patches ``boxoffice.booking.locks`` reaches every caller.

The guarantees live in the database (see :mod:`boxoffice.booking.models` for the partial unique
index, :mod:`boxoffice.booking.states` for the conditional status updates). The checks here only
turn the rare race into a clear message.

Decisions are made on rows as they are under lock, never on a copy read earlier: a cancel that
races a payment sees the booking as the payment left it (or the payment sees it cancelled).

Every write that changes which seats are taken calls ``seatmap_cache.seats_changed``.

Callers use this package (``services.create_hold(...)``); the names below are its public ones.
"""

from __future__ import annotations

from .cancellation import cancel_booking, cancel_bookings_of_show, end_payable_lapsed_bookings
from .exchange import exchange_booking
from .holds import (
    BEST_AVAILABLE_ATTEMPTS,
    HoldError,
    SeatsTaken,
    accessible_released,
    create_hold,
    hold_best_available,
    seat_info,
)
from .payments import (
    PaymentOutcome,
    PaymentResult,
    attach_payment,
    check_payable,
    record_payment,
    record_refund,
)
from .prices import new_price_policy
from .seats import live_taken_seat_ids, seats_together_available
from .tidy import (
    drop_old_seat_changes,
    end_bookings_of_cancelled_shows,
    expire_bookings,
    expire_holds_of_show,
)

__all__ = [
    "BEST_AVAILABLE_ATTEMPTS",
    "HoldError",
    "PaymentOutcome",
    "PaymentResult",
    "SeatsTaken",
    "accessible_released",
    "attach_payment",
    "cancel_booking",
    "cancel_bookings_of_show",
    "check_payable",
    "create_hold",
    "drop_old_seat_changes",
    "end_bookings_of_cancelled_shows",
    "end_payable_lapsed_bookings",
    "exchange_booking",
    "expire_bookings",
    "expire_holds_of_show",
    "hold_best_available",
    "live_taken_seat_ids",
    "new_price_policy",
    "record_payment",
    "record_refund",
    "seat_info",
    "seats_together_available",
]

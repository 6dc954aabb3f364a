"""Sent inside the transaction that changes a booking, so receivers can enqueue work (an INSERT
into the task table) that commits or rolls back with the change itself. The layers above
(payments, notifications) listen; the booking app does not import them."""

from django.dispatch import Signal

# sender=Booking, booking=<Booking>: paid and confirmed; tickets issued.
booking_confirmed = Signal()
# sender=Booking, booking=<Booking>, was_paid=<bool>: cancelled (``cancel_reason`` says why).
booking_cancelled = Signal()
# sender=Booking, booking=<Booking>: money is owed back (``rules.refund_owed`` is positive: a
# booking that is not confirmed with ``paid_amount > refunded_amount``, or a confirmed one some
# of whose seats were cancelled). Sent once per change that makes it so. A partial
# cancellation adds ``reason`` (its own, ``seats-<n>``) and ``amount`` (its seats' prices).
refund_due = Signal()
# sender=Booking, booking_ids=<list[int]>: unpaid holds that ended (cancelled or lapsed); any
# payment they opened should be closed so it cannot still be paid.
holds_ended = Signal()
# sender=SeatChange, change=<SeatChange>: seats of a show changed status (change.seat_ids; None:
# the whole map changed). Sent by seatmap_cache.seats_changed, in the writer's transaction.
seats_changed = Signal()

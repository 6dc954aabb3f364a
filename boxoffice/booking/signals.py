"""Sent inside the transaction that changes a booking, so receivers can enqueue work (an INSERT
into the task table) that commits or rolls back with the change itself. The layers above
(payments, notifications) listen; the booking app does not import them."""

from django.dispatch import Signal

# sender=Booking, booking=<Booking>
booking_confirmed = Signal()
# sender=Booking, booking=<Booking>, was_paid=<bool>
booking_cancelled = Signal()

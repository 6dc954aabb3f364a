"""Sent inside the transaction of an account change, so receivers can enqueue work (an INSERT
into the task table) that commits or rolls back with it. The layers above (notifications)
listen; accounts does not import them."""

from django.dispatch import Signal

# sender=User, email=<str>, base_url=<str>: someone asked for a password-reset link for this
# address. Sent for every request, whether or not an account has the address: the receiver
# (the email task) looks the account up, so the request does the same work either way and its
# answer and timing never tell whether the address is known. ``base_url`` is where the shop is
# (PUBLIC_BASE_URL, else the request's own scheme and host).
password_reset_requested = Signal()

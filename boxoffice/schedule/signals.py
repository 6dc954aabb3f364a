"""What the schedule announces to the layers above it (booking listens; see its receivers).

Each is sent inside the transaction that makes the change, so a receiver's writes commit or roll
back with it, and a receiver that raises refuses the change.
"""

from django.dispatch import Signal

# sender=Showtime, showtime_id=<int>: something that prices or draws the show's seats changed
# (its base price, its screen's seat grid).
showtime_changed = Signal()
# sender=Showtime, showtime=<Showtime>: the show was just cancelled (status, reason and time set);
# every booking of it must end and every payment be refunded.
showtime_cancelled = Signal()
# sender=Showtime, showtime_id=<int>, terms=[names]: the show's sold terms (its start, screen,
# movie or currency) are about to change, with no live booking; sent with the show's row locked.
# Bookings whose holds lapsed but whose payment may still land must end now, so a late payment
# is judged against the show as it will be (and refunded), never against the show as it was.
showtime_terms_changing = Signal()

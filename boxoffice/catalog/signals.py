"""What the catalog announces to the layers above it, inside the transaction of the change (a
receiver that raises refuses the change)."""

from django.dispatch import Signal

# sender=Movie or Screen, instance=<it>: a movie or screen was changed; its duration or cleaning
# gap may have changed, and the shows it spans must follow (or the change be refused).
timing_changed = Signal()
# sender=Screen, screen_id=<int>: its seat grid was rebuilt, or seats' kinds or blocking changed.
seat_grid_changed = Signal()
# sender=Screen, screen_id=<int>: its seat grid is about to be rebuilt (its seats deleted and
# made anew), inside the rebuild's transaction; the layers above lock what holds of its shows
# use, so the rebuild waits for holds in flight (and is then refused if they made bookings).
seat_grid_changing = Signal()
# sender=Theater, theater_id=<int>: its time zone changed, so its shows' local start times did
# (and what depends on them: the morning price of their seats).
local_time_changed = Signal()

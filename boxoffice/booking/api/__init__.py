"""The booking app's endpoints, one module per feature: ``bookings`` (holds, list, cancel),
``seatmap`` (the seat map), ``pricing`` (price factors), ``checkin`` (the door)."""

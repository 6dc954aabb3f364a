"""Fixtures borrowed from the suites next door: the email bookings of tests/notifications, the
SMTP server and worker of tests/payments, the browser helpers of tests/shop."""

from tests.notifications.conftest import booking_at, note_for  # noqa: F401
from tests.payments.conftest import smtp_server, stripe_webhook  # noqa: F401
from tests.shop.conftest import (  # noqa: F401
    _fresh_throttles,
    _streams_notice_closed_pages,
    axe_source,
    new_page,
)

"""The real SMTP server of tests/payments, for the password-reset emails."""

from tests.payments.conftest import smtp_server  # noqa: F401

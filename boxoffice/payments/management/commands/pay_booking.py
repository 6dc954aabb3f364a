"""Development helper: pay a booking through localstripe with a test card.

    python manage.py pay_booking 42 [--card 4242424242424242]

The webhook that follows confirms the booking (when localstripe knows our webhook: `make run`
registers it). Refuses to run against live keys.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from boxoffice.booking.models import Booking
from boxoffice.payments import gateway


class Command(BaseCommand):
    help = "Pay a pending booking through the Stripe emulator (test keys only)."

    def add_arguments(self, parser):
        parser.add_argument("booking_id", type=int)
        parser.add_argument("--card", default="4242424242424242", help="Test card number")

    def handle(self, *args, **options):
        if not settings.STRIPE_SECRET_KEY.startswith("sk_test_"):
            raise CommandError("pay_booking only runs with test keys (sk_test_...).")
        booking = Booking.objects.filter(pk=options["booking_id"]).first()
        if booking is None:
            raise CommandError(f"No booking {options['booking_id']}.")
        if not booking.payment_intent_id:
            raise CommandError(
                f"Booking {booking.pk} has no PaymentIntent (status {booking.status})."
            )
        status = gateway.pay_with_test_card(
            intent_id=booking.payment_intent_id, card=options["card"]
        )
        self.stdout.write(f"PaymentIntent {booking.payment_intent_id}: {status}")

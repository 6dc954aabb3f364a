"""Settle bookings whose payment succeeded at Stripe while we never heard of it (a lost webhook).

python manage.py reconcile_payments [--days 3]
"""

from django.core.management.base import BaseCommand

from boxoffice.payments.services import reconcile


class Command(BaseCommand):
    help = "Settle pending/expired bookings whose PaymentIntent succeeded (lost webhooks)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=3, help="How far back to look (default 3)")

    def handle(self, *args, **options):
        outcomes = reconcile(max_age_days=options["days"])
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(outcomes.items())) or "nothing to settle"
        self.stdout.write(summary)

"""The ledger's outcome as two fields: ``outcome`` ("refunding") and ``reason``
("seats_lost"), instead of one text parsed back with ``split(":")``. Existing rows are split at
their first colon; going back joins them again."""

from django.db import migrations, models


def split_outcomes(apps, schema_editor):  # type: ignore[no-untyped-def]
    StripeEvent = apps.get_model("payments", "StripeEvent")
    for event in StripeEvent.objects.filter(outcome__contains=":").only("pk", "outcome"):
        outcome, _, reason = event.outcome.partition(":")
        StripeEvent.objects.filter(pk=event.pk).update(outcome=outcome, reason=reason)


def join_outcomes(apps, schema_editor):  # type: ignore[no-untyped-def]
    StripeEvent = apps.get_model("payments", "StripeEvent")
    for event in StripeEvent.objects.exclude(reason="").only("pk", "outcome", "reason"):
        StripeEvent.objects.filter(pk=event.pk).update(
            outcome=f"{event.outcome}:{event.reason}", reason=""
        )


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0002_refund_failed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="stripeevent",
            name="reason",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(split_outcomes, join_outcomes),
    ]

"""Migration 0003 turns the ledger's one outcome text into two fields: rows recorded before it
("refunding:seats_lost") read as outcome "refunding", reason "seats_lost" afterwards, and
going back joins them again."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0002_refund_failed_at")]
AFTER = [("payments", "0003_stripeevent_reason")]


def migrate(targets):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_outcomes_are_split_into_outcome_and_reason_and_joined_back():
    old = migrate(BEFORE).get_model("payments", "StripeEvent")
    for event_id, outcome in [
        ("evt_1", "refunding:seats_lost"),
        ("evt_2", "confirmed"),
        ("evt_3", "not_succeeded:requires_payment_method"),
        ("evt_4", ""),
    ]:
        old.objects.create(event_id=event_id, type="payment_intent.succeeded", outcome=outcome)

    new = migrate(AFTER).get_model("payments", "StripeEvent")
    rows = {e: (o, r) for e, o, r in new.objects.values_list("event_id", "outcome", "reason")}
    assert rows == {
        "evt_1": ("refunding", "seats_lost"),
        "evt_2": ("confirmed", ""),
        "evt_3": ("not_succeeded", "requires_payment_method"),
        "evt_4": ("", ""),
    }

    back = migrate(BEFORE).get_model("payments", "StripeEvent")
    assert dict(back.objects.values_list("event_id", "outcome")) == {
        "evt_1": "refunding:seats_lost",
        "evt_2": "confirmed",
        "evt_3": "not_succeeded:requires_payment_method",
        "evt_4": "",
    }
    # Every app's newest migration again (later payments migrations exist), so the tests
    # after this one on the same database see the schema as it is.
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

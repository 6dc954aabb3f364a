"""No two scheduled shows on one screen may overlap, cleaning gap included.

On PostgreSQL the database enforces it with an exclusion constraint over (screen, time range),
which needs btree_gist for the equality on screen_id. Two admins racing overlapping shows onto one
screen cannot both commit: the second waits for the first and then fails with an exclusion
violation, which the service turns into a 409.

SQLite has no exclusion constraints; there the service's check-then-insert runs inside a
transaction that holds SQLite's single write lock (transaction_mode=IMMEDIATE in settings), so
the check and the insert cannot interleave with another writer.
"""

from django.db import migrations

from boxoffice.schedule.models import NO_OVERLAP_CONSTRAINT

ADD = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE schedule_showtime ADD CONSTRAINT {NO_OVERLAP_CONSTRAINT}
    EXCLUDE USING gist (
        screen_id WITH =,
        tstzrange(starts_at, blocked_until, '[)') WITH &&
    ) WHERE (status = 'scheduled');
"""
DROP = f"ALTER TABLE schedule_showtime DROP CONSTRAINT IF EXISTS {NO_OVERLAP_CONSTRAINT};"


def add_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(ADD)


def drop_constraint(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("schedule", "0001_initial")]

    operations = [migrations.RunPython(add_constraint, drop_constraint, elidable=False)]

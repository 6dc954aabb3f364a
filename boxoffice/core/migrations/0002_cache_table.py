"""The database cache's table comes with the migrations, so `manage.py migrate` is the whole
database set-up: with the default CACHE_URL=db:// every request counts its throttles in
`boxoffice_cache`, and without the table each one failed.

It runs Django's own `createcachetable` for the database being migrated, which creates the table
of every DatabaseCache in CACHES and skips a table that already exists (a database set up by hand
before this migration, a re-run). With another cache (redis://, locmem://) it does nothing; a
database that switches to CACHE_URL=db:// later needs `manage.py createcachetable` once.
Reversing it leaves the table: it may predate this migration, and it holds only cache entries."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, migrations.RunPython.noop),
    ]

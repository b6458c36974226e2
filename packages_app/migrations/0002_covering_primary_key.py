"""On PostgreSQL, make the points' primary key a covering index.

`PRIMARY KEY (package_id, category_id, date) INCLUDE (downloads)` lets every read
of "one package, one category set, a date range" be an index-only scan, without
a second index. Django cannot express INCLUDE on a primary key (and on SQLite a
UniqueConstraint with include= silently creates nothing), so this is raw SQL that
only runs on PostgreSQL; the model state is unchanged.
"""

from django.db import migrations

TABLE = "packages_app_downloadpoint"


def _primary_key_name(cursor):
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
        [TABLE],
    )
    return cursor.fetchone()[0]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        name = _primary_key_name(cursor)
        cursor.execute(
            f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}", '
            f'ADD CONSTRAINT "{name}" PRIMARY KEY (package_id, category_id, date) INCLUDE (downloads)'
        )
        # A tighter autovacuum keeps the visibility map current, which
        # index-only scans need in order to skip the heap.
        cursor.execute(
            f"ALTER TABLE {TABLE} SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        name = _primary_key_name(cursor)
        cursor.execute(
            f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}", '
            f'ADD CONSTRAINT "{name}" PRIMARY KEY (package_id, category_id, date)'
        )


class Migration(migrations.Migration):
    dependencies = [("packages_app", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]

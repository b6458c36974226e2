"""Store a calendar month of points per row instead of one row per point.

Creates DownloadMonth (see packages_app/points.py for the packing), moves every
held point into it, makes its primary key a covering index on PostgreSQL (as 0002
did for the points), then drops the one-row-per-point table. Nothing is lost: each
month row holds exactly the days that were held, the others marked missing.
"""

import calendar
import struct

import django.db.models.deletion
from django.db import migrations, models

MISSING = -1
MONTH = "packages_app_downloadmonth"
POINT = "packages_app_downloadpoint"


def _copy_postgresql(cursor):
    # int8send is big-endian, the packing points.py reads; the generate_series fills
    # the days not held with MISSING.
    cursor.execute(
        f"""
        INSERT INTO {MONTH} (package_id, category_id, held, month, days)
        SELECT m.package_id, m.category_id, m.held, m.month, (
            SELECT string_agg(int8send(coalesce(d.downloads, {MISSING})), ''::bytea ORDER BY g.day)
            FROM generate_series(
                m.month, m.month + interval '1 month' - interval '1 day', interval '1 day'
            ) AS g(day)
            LEFT JOIN {POINT} d ON d.package_id = m.package_id
                AND d.category_id = m.category_id AND d.date = g.day::date
        )
        FROM (
            SELECT package_id, category_id, date_trunc('month', date)::date AS month,
                   count(*) AS held
            FROM {POINT} GROUP BY 1, 2, 3
        ) m
        """
    )


def _copy_portable(apps):
    point_model = apps.get_model("packages_app", "DownloadPoint")
    month_model = apps.get_model("packages_app", "DownloadMonth")
    batch = []
    current = None
    values: list[int] = []

    def flush():
        if current is None:
            return
        package_id, category_id, month = current
        held = sum(1 for v in values if v != MISSING)
        days = struct.pack(f">{len(values)}q", *values)
        batch.append(
            month_model(
                package_id=package_id, category_id=category_id, month=month, held=held, days=days
            )
        )

    rows = (
        point_model.objects.order_by("package_id", "category_id", "date")
        .values_list("package_id", "category_id", "date", "downloads")
        .iterator(chunk_size=5000)
    )
    for package_id, category_id, date, downloads in rows:
        key = (package_id, category_id, date.replace(day=1))
        if key != current:
            flush()
            current = key
            values = [MISSING] * calendar.monthrange(date.year, date.month)[1]
            if len(batch) >= 1000:
                month_model.objects.bulk_create(batch)
                batch.clear()
        values[date.day - 1] = downloads
    flush()
    month_model.objects.bulk_create(batch)


def copy_points(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            _copy_postgresql(cursor)
    else:
        _copy_portable(apps)


def copy_months_back(apps, schema_editor):
    """Reverse: one row per held day again (so migrating back to 0002 loses nothing)."""
    point_model = apps.get_model("packages_app", "DownloadPoint")
    month_model = apps.get_model("packages_app", "DownloadMonth")
    batch = []
    rows = month_model.objects.values_list("package_id", "category_id", "month", "days")
    for package_id, category_id, month, days in rows.iterator(chunk_size=1000):
        values = struct.unpack(f">{len(days) // 8}q", days)
        for index, downloads in enumerate(values):
            if downloads != MISSING:
                batch.append(
                    point_model(
                        package_id=package_id,
                        category_id=category_id,
                        date=month.replace(day=index + 1),
                        downloads=downloads,
                    )
                )
        if len(batch) >= 5000:
            point_model.objects.bulk_create(batch)
            batch.clear()
    point_model.objects.bulk_create(batch)


def covering_primary_key(apps, schema_editor):
    """`PRIMARY KEY (package_id, category_id, month) INCLUDE (days)` on PostgreSQL.

    Every read of "one package, some categories, a date range" is then an
    index-only scan. Django cannot express INCLUDE on a primary key, so this is raw
    SQL that only runs on PostgreSQL; the model state is unchanged.
    """
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [MONTH],
        )
        name = cursor.fetchone()[0]
        cursor.execute(
            f'ALTER TABLE {MONTH} DROP CONSTRAINT "{name}", '
            f'ADD CONSTRAINT "{name}" PRIMARY KEY (package_id, category_id, month) INCLUDE (days)'
        )
        # Each day's refresh rewrites the current month's rows: a tight autovacuum
        # keeps the visibility map current, which index-only scans need.
        cursor.execute(
            f"ALTER TABLE {MONTH} SET (autovacuum_vacuum_scale_factor = 0.02, "
            "autovacuum_analyze_scale_factor = 0.02)"
        )


class Migration(migrations.Migration):
    dependencies = [("packages_app", "0002_covering_primary_key")]

    operations = [
        migrations.CreateModel(
            name="DownloadMonth",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "package",
                        "category",
                        "month",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "package",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="months",
                        to="packages_app.package",
                    ),
                ),
                (
                    "category",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="packages_app.category",
                    ),
                ),
                ("held", models.PositiveSmallIntegerField(help_text="Days of the month held")),
                ("month", models.DateField(help_text="The first day of the month")),
                ("days", models.BinaryField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("month__day", 1)),
                        name="downloadmonth_month_first_day",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("held__gte", 1), ("held__lte", 31)),
                        name="downloadmonth_held_range",
                    ),
                ],
            },
        ),
        migrations.RunPython(copy_points, copy_months_back),
        migrations.RunPython(covering_primary_key, migrations.RunPython.noop),
        migrations.DeleteModel(name="DownloadPoint"),
    ]

"""Every stored point knows its source: a `source` on Category (upstream or clickhouse).

Existing categories (and so every point held) are upstream's, the column's default.
Also the ClickHouse source's per-package state (PackageHistory). Reversible while no
ClickHouse category exists; after a backfill, delete ClickHouse's months and categories
first (`source = 2`), or the old unique (metric, name) constraint cannot be restored.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("packages_app", "0005_database_identity"),
    ]

    operations = [
        migrations.CreateModel(
            name="PackageHistory",
            fields=[
                (
                    "package",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="history",
                        serialize=False,
                        to="packages_app.package",
                    ),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("new", "Not backfilled yet"),
                            ("ok", "OK"),
                            ("not_found", "Not in ClickHouse"),
                            ("failing", "Failing"),
                        ],
                        default="new",
                        max_length=16,
                    ),
                ),
                (
                    "first_date",
                    models.DateField(
                        blank=True, help_text="Earliest ClickHouse day held", null=True
                    ),
                ),
                (
                    "latest_date",
                    models.DateField(blank=True, help_text="Latest ClickHouse day held", null=True),
                ),
                ("source_latest_date", models.DateField(blank=True, null=True)),
                (
                    "backfilled_at",
                    models.DateTimeField(blank=True, help_text="Last successful read", null=True),
                ),
                (
                    "queries",
                    models.PositiveIntegerField(
                        default=0, help_text="Queries of the last backfill"
                    ),
                ),
                ("last_error", models.TextField(blank=True)),
                ("last_error_at", models.DateTimeField(blank=True, null=True)),
                ("consecutive_failures", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "verbose_name_plural": "package histories",
            },
        ),
        migrations.RemoveConstraint(
            model_name="category",
            name="category_metric_name_uniq",
        ),
        migrations.AddField(
            model_name="category",
            name="source",
            field=models.PositiveSmallIntegerField(
                choices=[(1, "upstream"), (2, "clickhouse")], default=1
            ),
        ),
        migrations.AddConstraint(
            model_name="category",
            constraint=models.UniqueConstraint(
                fields=("metric", "name", "source"), name="category_metric_name_source_uniq"
            ),
        ),
        migrations.AddIndex(
            model_name="packagehistory",
            index=models.Index(fields=["state", "next_attempt_at"], name="history_due"),
        ),
    ]

import uuid

import django.utils.timezone
from django.db import migrations, models


def write_identity(apps, schema_editor):
    """This database's id: new for every database that runs its migrations."""
    DatabaseIdentity = apps.get_model("packages_app", "DatabaseIdentity")
    DatabaseIdentity.objects.using(schema_editor.connection.alias).get_or_create(
        id=1, defaults={"uid": uuid.uuid4()}
    )


class Migration(migrations.Migration):
    dependencies = [("packages_app", "0004_package_latest_date_index")]

    operations = [
        migrations.CreateModel(
            name="DatabaseIdentity",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("uid", models.UUIDField(default=uuid.uuid4, editable=False)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            options={"verbose_name_plural": "database identity"},
        ),
        migrations.RunPython(write_identity, migrations.RunPython.noop),
    ]

"""Index Package.latest_date: the API reads max(latest_date) (the ETL date) on every request."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("packages_app", "0003_download_months"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="package",
            index=models.Index(fields=["latest_date"], name="pkg_latest_date"),
        ),
    ]

"""Track upstream's `__all__` pseudo-package: the compare page's "share of all PyPI" needs it."""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone

ALL_PACKAGES = "__all__"


def track_all_pypi(apps: Any, schema_editor: Any) -> None:
    Package = apps.get_model("packages_app", "Package")
    package, created = Package.objects.get_or_create(
        name=ALL_PACKAGES, defaults={"tracked": True, "next_attempt_at": timezone.now()}
    )
    if not created and not package.tracked:
        package.tracked = True
        package.save(update_fields=["tracked"])


class Migration(migrations.Migration):
    dependencies = [
        ("packages_app", "0002_covering_primary_key"),
        ("watchlists", "0001_initial"),
    ]

    # Reversing leaves the package (and its history) in place: nothing is ever purged.
    operations = [migrations.RunPython(track_all_pypi, migrations.RunPython.noop)]

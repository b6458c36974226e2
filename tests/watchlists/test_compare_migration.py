"""The data migration that makes the app track upstream's `__all__` (share of all PyPI)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps

from packages_app.models import Package
from packages_app.names import ALL_PACKAGES

migration = importlib.import_module("watchlists.migrations.0002_track_all_pypi")
pytestmark = pytest.mark.django_db


def test_creates_all_pypi_tracked_and_due(db: Any) -> None:
    Package.objects.filter(name=ALL_PACKAGES).delete()  # a flushed test database
    migration.track_all_pypi(apps, None)
    package = Package.objects.get(name=ALL_PACKAGES)
    assert package.tracked and package.next_attempt_at is not None


def test_resumes_an_untracked_all_pypi_and_keeps_its_history(db: Any) -> None:
    Package.objects.filter(name=ALL_PACKAGES).delete()
    Package.objects.create(name=ALL_PACKAGES, tracked=False, data_version=7)
    migration.track_all_pypi(apps, None)
    migration.track_all_pypi(apps, None)  # idempotent
    package = Package.objects.get(name=ALL_PACKAGES)
    assert package.tracked and package.data_version == 7
    assert Package.objects.filter(name=ALL_PACKAGES).count() == 1

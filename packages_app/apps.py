from __future__ import annotations

from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class PackagesAppConfig(AppConfig):
    name = "packages_app"
    verbose_name = "Packages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.urls import register_converter

        from packages_app import converters

        register_converter(converters.PackageNameConverter, "pkg")
        create_local_state_folders()
        # After migrate, and after a flush (which empties every table, tests' included): the
        # database has its identity row and this process knows it.
        post_migrate.connect(_identify_database, sender=self)


def _identify_database(using: str = "default", **kwargs: object) -> None:
    from packages_app import database_identity

    database_identity.reread(using)


def create_local_state_folders() -> None:
    """The folders of the zero-configuration backends under VAR_DIR, made once per process.

    Settings only name them. Web, worker and beat all need them before their first
    request or task: the file-system broker's queue and control folders, beat's schedule
    file, whitenoise's STATIC_ROOT (it warns when missing) and SQLite's folder.
    """
    folders = [Path(settings.STATIC_ROOT), Path(settings.CELERY_BEAT_SCHEDULE_FILENAME).parent]
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folders += [settings.CELERY_QUEUE_DIR, settings.CELERY_CONTROL_DIR]
    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and database["NAME"] != ":memory:":
        folders.append(Path(database["NAME"]).parent)
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)

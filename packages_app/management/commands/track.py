"""`manage.py track NAME…`: start tracking packages (validated and canonicalised)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from packages_app.management.package_names import add_names_argument, check_names
from packages_app.sync import services


class Command(BaseCommand):
    help = "Start tracking packages; the frequent sweep refreshes them (or run `refresh NAME`)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_names_argument(parser)

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        check_names(names)
        for name in names:
            package, created = services.package_track(name=name)
            verb = "now tracking" if created else "already tracked"
            self.stdout.write(f"{package.name}: {verb}")

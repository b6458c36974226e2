"""`manage.py untrack NAME…`: stop refreshing packages; their history is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app.management.package_names import add_names_argument, check_names
from packages_app.sync import services


class Command(BaseCommand):
    help = "Stop refreshing packages. Stored history is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        add_names_argument(parser)

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        check_names(names)
        unknown = []
        for name in names:
            package = services.package_untrack(name=name)
            if package is None:
                unknown.append(name)
            else:
                self.stdout.write(f"{package.name}: no longer tracked (history kept)")
        if unknown:
            raise CommandError(f"not tracked: {', '.join(unknown)}")

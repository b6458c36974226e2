"""`manage.py untrack NAME…`: stop refreshing packages; their history is kept."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app import services
from packages_app.names import is_valid_name


class Command(BaseCommand):
    help = "Stop refreshing packages. Stored history is kept."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="+", metavar="NAME")

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        invalid = [name for name in names if not is_valid_name(name)]
        if invalid:
            raise CommandError(f"not a valid package name: {', '.join(map(repr, invalid))}")
        unknown = []
        for name in names:
            package = services.package_untrack(name=name)
            if package is None:
                unknown.append(name)
            else:
                self.stdout.write(f"{package.name}: no longer tracked (history kept)")
        if unknown:
            raise CommandError(f"not tracked: {', '.join(unknown)}")

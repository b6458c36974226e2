"""`manage.py track NAME…`: start tracking packages (validated and canonicalised)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app import services
from packages_app.names import is_valid_name


class Command(BaseCommand):
    help = "Start tracking packages; the frequent sweep refreshes them (or run `refresh NAME`)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("names", nargs="+", metavar="NAME")

    def handle(self, *args: Any, names: list[str], **options: Any) -> None:
        invalid = [name for name in names if not is_valid_name(name)]
        if invalid:
            # Nothing is tracked when any name is wrong: a typo should not half-apply.
            raise CommandError(f"not a valid package name: {', '.join(map(repr, invalid))}")
        for name in names:
            package, created = services.package_track(name=name)
            verb = "now tracking" if created else "already tracked"
            self.stdout.write(f"{package.name}: {verb}")

"""`manage.py refresh [NAME…]`: refresh now, in this process, with a progress bar.

With names, those packages (tracked first if they are not yet); with none, every
package a sweep would refresh now. Ends with one summary line; exits non-zero
when a name is invalid or a refresh failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from tqdm import tqdm

from packages_app.management.package_names import add_names_argument, check_names
from packages_app.sync import selectors, services, upstream


class Command(BaseCommand):
    help = "Refresh packages from upstream now, in-process (no names: everything due)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_names_argument(parser, required=False)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(self, *args: Any, names: list[str], no_progress: bool, **options: Any) -> None:
        check_names(names)
        if names:
            packages = [services.package_track(name=name)[0] for name in names]
        else:
            packages = list(selectors.packages_due(timezone.now()).order_by("name"))
        calls = written = 0
        errors: list[str] = []
        not_found: list[str] = []
        # max_wait=None: in-process, waiting for the budget is what we want.
        with upstream.UpstreamClient(max_wait=None) as client:
            bar = tqdm(
                packages,
                desc="refresh",
                unit="pkg",
                disable=no_progress or not packages,
                file=self.stderr,
            )
            for package in bar:
                bar.set_postfix_str(package.name)
                result = services.refresh_package(package_id=package.pk, client=client)
                calls += result.calls
                written += result.written
                if result.status == "failed":
                    errors.append(f"{package.name}: {result.error}")
                elif result.status == "not_found":
                    not_found.append(package.name)
        for line in errors:
            self.stderr.write(f"error: {line}")
        if not_found:
            self.stdout.write(f"not on PyPI Stats: {', '.join(not_found)}")
        self.stdout.write(
            f"{len(packages)} packages, {calls} upstream calls, "
            f"{written} points written, {len(errors)} errors"
        )
        if errors:
            raise CommandError(f"{len(errors)} of {len(packages)} refreshes failed")

"""`manage.py backfill NAME… | --all`: read packages' history from ClickHouse now, in-process.

With names, those packages (tracked first if they are not yet); with --all, every active
package. `--since DATE` re-reads from that day only (what the weekly job does). Shows a
progress bar, ends with one summary line, exits non-zero when a name is invalid, the source
is off (CLICKHOUSE_URL empty) or a backfill failed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from packages_app.history import client as ch
from packages_app.history import services
from packages_app.history.models import HistoryState
from packages_app.management.package_names import add_names_argument, check_names
from packages_app.models import Package
from packages_app.names import ALL_PACKAGES
from packages_app.sync.services import package_track


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--since wants an ISO date (YYYY-MM-DD), not {value!r}") from None


class Command(BaseCommand):
    help = "Backfill packages' daily history from ClickHouse now, in-process."

    def add_arguments(self, parser: CommandParser) -> None:
        add_names_argument(parser, required=False)
        parser.add_argument("--all", action="store_true", help="Every tracked package")
        parser.add_argument("--since", help="Re-read from this ISO date on (default: all)")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar")

    def handle(
        self,
        *args: Any,
        names: list[str],
        all: bool,
        since: str | None,
        no_progress: bool,
        **options: Any,
    ) -> None:
        if bool(names) == all:
            raise CommandError("give package names or --all (not both)")
        check_names(names)
        start = _date(since) if since else None
        if not ch.enabled():
            raise CommandError("CLICKHOUSE_URL is empty: the ClickHouse source is off")
        if names:
            packages = [package_track(name=name)[0] for name in names]
        else:
            packages = list(Package.objects.active().exclude(name=ALL_PACKAGES).order_by("name"))
        queries = written = 0
        errors: list[str] = []
        not_found: list[str] = []
        # max_wait=None: in-process, waiting for the budget is what we want.
        with ch.ClickHouseClient(max_wait=None) as client:
            bar = tqdm(
                packages,
                desc="backfill",
                unit="pkg",
                disable=no_progress or not packages,
                file=self.stderr,
            )
            for package in bar:
                bar.set_postfix_str(package.name)
                result = services.package_backfill(
                    package_id=package.pk, client=client, since=start
                )
                queries += result.queries
                written += result.written
                if result.state == HistoryState.FAILING:
                    errors.append(f"{package.name}: {result.error}")
                elif result.state == HistoryState.NOT_FOUND:
                    not_found.append(package.name)
        for line in errors:
            self.stderr.write(f"error: {line}")
        if not_found:
            self.stdout.write(f"not in ClickHouse: {', '.join(not_found)}")
        self.stdout.write(
            f"{len(packages)} packages, {queries} ClickHouse queries, "
            f"{written} points written, {len(errors)} errors"
        )
        if errors:
            raise CommandError(f"{len(errors)} of {len(packages)} backfills failed")

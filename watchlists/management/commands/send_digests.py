"""manage.py send_digests [--week YYYY-Www] [--dry-run]: claim and send the weekly digests."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from watchlists.notify import digests


class Command(BaseCommand):
    help = "Send the weekly digest of every subscribed watchlist (each once per week, ever)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--week", help="ISO week, e.g. 2026-W47 (default: the last complete week)"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be sent; claim and send nothing.",
        )

    def handle(self, *args: Any, week: str | None, dry_run: bool, **options: Any) -> None:
        if week:
            try:
                chosen = digests.parse_week(week)
            except digests.BadWeek as exc:
                raise CommandError(str(exc)) from None
            if chosen.end >= timezone.now().date():
                raise CommandError(f"Week {chosen.label} has not ended yet (it ends {chosen.end}).")
        else:
            chosen = digests.last_complete_week(timezone.now().date())
        # A week named by hand is sent whatever the share of packages holding Sunday.
        plan = digests.digests_send(week=chosen, dry_run=dry_run, force=bool(week))
        self.stdout.write(
            f"Digests for {chosen.label} ({chosen.start} to {chosen.end})"
            + (" [dry run]" if dry_run else "")
        )
        for line in plan.lines:
            self.stdout.write(line)
        if not plan.lines:
            self.stdout.write("Nothing to send: no subscriptions.")

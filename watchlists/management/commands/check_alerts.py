"""manage.py check_alerts [--dry-run]: evaluate every alert rule, claim and send what fires."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from watchlists.notify import alerts


class Command(BaseCommand):
    help = "Evaluate watchlist alert rules and send what fires (each alert once, ever)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Print what would be sent; claim and send nothing.",
        )

    def handle(self, *args: Any, dry_run: bool, **options: Any) -> None:
        plan = alerts.alerts_send(dry_run=dry_run)
        if dry_run:
            self.stdout.write("[dry run]")
        for line in plan.lines:
            self.stdout.write(line)
        if not plan.lines:
            self.stdout.write("No alert fires.")

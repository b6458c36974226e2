"""`manage.py demo_clickhouse --port N`: serve the ClickHouse stand-in (ClickPy's schema, demo data)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app.demo.clickhouse import DEFAULT_USER, DEMO_PACKAGES, DemoClickHouse


class Command(BaseCommand):
    help = (
        "Serve a local stand-in for ClickPy's ClickHouse (its HTTP interface over chdb, "
        "loopback, demo data that agrees with demo_upstream)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--latest",
            type=dt.date.fromisoformat,
            default=None,
            help="The latest day held, YYYY-MM-DD (default: yesterday, UTC)",
        )
        parser.add_argument(
            "--packages",
            default=",".join(DEMO_PACKAGES),
            help="Comma-separated names to preload (default: %(default)s)",
        )
        parser.add_argument("--user", default=DEFAULT_USER)
        parser.add_argument("--password", default="")
        parser.add_argument(
            "--lag-days", type=int, default=0, help="Start with a lagging latest day"
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        latest: dt.date | None,
        packages: str,
        user: str,
        password: str,
        lag_days: int,
        **options: Any,
    ) -> None:
        names = [p.strip() for p in packages.split(",") if p.strip()]
        self.stdout.write(f"Loading {len(names)} packages into the ClickHouse stand-in…")
        self.stdout.flush()
        try:
            stand_in = DemoClickHouse(
                host=host,
                port=port,
                latest=latest,
                packages=names,
                user=user,
                password=password,
                lag_days=lag_days,
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"ClickHouse stand-in on {stand_in.url} (database pypi, user {user!r}, "
            f"data through {stand_in.latest}; {', '.join(stand_in.engine.packages)})\n"
            f"Switches: POST {stand_in.url}/_control (JSON). Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            stand_in.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stand_in.stop_listening()

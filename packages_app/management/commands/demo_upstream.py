"""`manage.py demo_upstream --port N`: serve the demo upstream (synthetic PyPI Stats API)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from packages_app.demo.upstream import DemoUpstream


class Command(BaseCommand):
    help = "Serve a local stand-in for pypistats.org/api (loopback; synthetic or golden data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, required=True)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--dataset", choices=["synthetic", "golden"], default="synthetic")
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument(
            "--no-rate-limit", action="store_true", help="Drop upstream's 5/s, 30/min per endpoint"
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        dataset: str,
        today: dt.date | None,
        no_rate_limit: bool,
        **options: Any,
    ) -> None:
        try:
            demo = DemoUpstream(
                host=host, port=port, dataset=dataset, today=today, rate_limit=not no_rate_limit
            )
        except OSError as exc:
            raise CommandError(f"cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(
            f"Demo upstream ({demo.dataset} data, today {demo.today}) on {demo.url}\n"
            f"Switches: POST http://{demo.host}:{demo.port}/_control (JSON). Ctrl-C stops it."
        )
        self.stdout.flush()
        try:
            demo.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            demo.stop_listening()

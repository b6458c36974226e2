#!/usr/bin/env python
"""Benchmark compare's breakdown metrics and the watchlist column against the ClickHouse
stand-in (#16 item 4). Not a test.

Migrates the database of DATABASE_URL (give it one of your own), starts the stand-in (chdb,
in this process) holding five demo packages (httpx, sqlalchemy, flask, attrs, fastapi:
every day since their first, hundreds of releases), then asks through Django's test client
(whole middleware stack):
  - the compare page with metric=installer (uv's share, 1 year weekly), metric=version
    (latest release), metric=country&category=DE over all history (weekly), and the CSV
    export of the first;
  - the watchlist column's read for the five (breakdown_keys.list_shares: uv share and
    latest release), called directly;
  - cold: the cache cleared before each request (every ClickHouse read queried again, the
    payload built: give it a Redis db of its own); warm: the same request again (cache
    reads only, no query).

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/compare_breakdowns.py [--cold 5] [--warm 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LATEST = dt.date(2026, 11, 23)
FIVE = ("httpx", "sqlalchemy", "flask", "attrs", "fastapi")
BASE = "/compare/?packages=" + ",".join(FIVE)
URLS = (
    BASE + "&metric=installer",
    BASE + "&metric=version",
    BASE + "&metric=country&category=DE&range=all",
    BASE.replace("/compare/", "/compare/export.csv") + "&metric=installer",
)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=30)
    args = parser.parse_args()
    os.environ.update(
        {
            "VAR_DIR": tempfile.mkdtemp(prefix="bench-compare-breakdowns-"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "pypistats_site.settings",
            "CLICKHOUSE_RATE_PER_SECOND": "0",
            "CLICKHOUSE_RATE_PER_MINUTE": "0",
        }
    )
    load_before = os.getloadavg()
    results = run(args)
    results["load_average_before"] = [round(x, 2) for x in load_before]
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2))
    return 0


def run(args: argparse.Namespace) -> dict[str, object]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from packages_app.demo.clickhouse import DemoClickHouse
    from packages_app.history import breakdown_keys
    from packages_app.history.breakdown_selectors import Kind

    setup_test_environment()
    call_command("migrate", verbosity=0)
    client = Client()
    results: dict[str, object] = {"cache": settings.CACHES["default"]["BACKEND"]}
    with DemoClickHouse.running(latest=LATEST, packages=list(FIVE)) as stand_in:
        settings.CLICKHOUSE_URL = stand_in.url
        settings.CLICKHOUSE_USER = stand_in.user
        settings.CLICKHOUSE_PASSWORD = stand_in.password

        def page(url: str) -> Callable[[], int]:
            def get() -> int:
                response = client.get(url, secure=True)
                assert response.status_code == 200, (url, response.status_code)
                return len(response.content)

            return get

        def column(kind: Kind, key: str) -> Callable[[], int]:
            def read() -> int:
                return len(breakdown_keys.list_shares(list(FIVE), kind, key))

            return read

        cases: dict[str, Callable[[], int]] = {url: page(url) for url in URLS}
        cases["watchlist column: uv share (5 packages)"] = column(Kind.INSTALLERS, "uv")
        cases["watchlist column: on latest release (5 packages)"] = column(
            Kind.VERSIONS, breakdown_keys.LATEST
        )
        for case in cases.values():
            case()
        for name, case in cases.items():
            cold = []
            queries_cold = 0
            for _ in range(args.cold):
                # Cleared, not re-prefixed: compare reads packages in threads, and each
                # thread has its own cache object (give the bench a Redis db of its own).
                cache.clear()
                stand_in.clear_queries()
                started = time.perf_counter()
                case()
                cold.append(time.perf_counter() - started)
                queries_cold += len(stand_in.queries)
            stand_in.clear_queries()
            warm = []
            for _ in range(args.warm):
                started = time.perf_counter()
                size = case()
                warm.append(time.perf_counter() - started)
            results[name] = {
                "cold_ms": summary(cold),
                "warm_ms": summary(warm),
                "size": size,
                "clickhouse_queries_cold": queries_cold // max(args.cold, 1),
                "clickhouse_queries_warm": len(stand_in.queries),
            }
    return results


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {
        "median": round(statistics.median(ms), 1),
        "max": round(ms[-1], 1),
        "min": round(ms[0], 1),
    }


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""Benchmark an untracked package's page, read live from the ClickHouse stand-in (#15 item 4).

Not a test. Migrates the database of DATABASE_URL (give it one of your own), starts the
stand-in (chdb, in this process) holding one long-lived demo package (django: every day
since 2016), then asks for /packages/django/ through Django's test client, the whole
middleware stack included:
  - cold: a fresh cache key prefix per request, so nothing is cached (ClickHouse's dates,
    all-time total and the four series are queried, the payload and tables built);
  - warm: the same request again and again (three cache reads, no ClickHouse query).
Both for the default options (180 days) and for range=all (ten years, monthly).

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/untracked_page.py [--cold 5] [--warm 30]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LATEST = dt.date(2026, 11, 23)
PACKAGE = "django"
QUERIES = ("", "?range=all&agg=month")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--warm", type=int, default=30)
    args = parser.parse_args()
    os.environ.update(
        {
            "VAR_DIR": tempfile.mkdtemp(prefix="bench-untracked-"),
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

    setup_test_environment()
    call_command("migrate", verbosity=0)
    client = Client()
    results: dict[str, object] = {"cache": settings.CACHES["default"]["BACKEND"]}
    with DemoClickHouse.running(latest=LATEST, packages=[PACKAGE]) as stand_in:
        settings.CLICKHOUSE_URL = stand_in.url
        settings.CLICKHOUSE_USER = stand_in.user
        settings.CLICKHOUSE_PASSWORD = stand_in.password

        def timed(url: str) -> float:
            started = time.perf_counter()
            response = client.get(url, secure=True)
            spent = time.perf_counter() - started
            assert response.status_code == 200, (url, response.status_code)
            assert b"read live from ClickHouse" in response.content
            return spent

        # One warm-up: the stand-in's first reads of its parts, imports, templates.
        cache.key_prefix = "bench-untracked-warmup"
        timed(f"/packages/{PACKAGE}/")
        for query in QUERIES:
            url = f"/packages/{PACKAGE}/{query}"
            cold = []
            for i in range(args.cold):
                cache.key_prefix = f"bench-untracked-{time.time_ns()}-{i}"
                stand_in.clear_queries()
                cold.append(timed(url))
            queries_cold = len(stand_in.queries)
            stand_in.clear_queries()
            warm = [timed(url) for _ in range(args.warm)]
            results[url] = {
                "cold_ms": summary(cold),
                "warm_ms": summary(warm),
                "clickhouse_queries_cold": queries_cold,
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

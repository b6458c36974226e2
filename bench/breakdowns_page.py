#!/usr/bin/env python
"""Benchmark the package page's breakdown sections against the ClickHouse stand-in (#16 item 6).

Not a test. Migrates the database of DATABASE_URL (give it one of your own), starts the
stand-in (chdb, in this process) holding one long-lived demo package (django: every day
since 2016, ~300 releases), then asks through Django's test client (whole middleware stack):
  - the package page itself (read live: it only links its sections, lazily loaded);
  - each section partial as htmx loads it (versions, installers, countries), for the
    default options (180 days, daily) and for range=all (ten years, weekly), and the
    versions section grouped exactly (the longest tail);
  - cold: a fresh cache key prefix per request (ClickHouse's dates, the section's series,
    and for versions the releases, version totals and adoption are queried; the payload
    and tables built); warm: the same request again (cache reads only, no query).

    DATABASE_URL=… REDIS_URL=… .venv/bin/python bench/breakdowns_page.py [--cold 5] [--warm 30]
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
URLS = (
    f"/packages/{PACKAGE}/",
    f"/packages/{PACKAGE}/breakdowns/versions/",
    f"/packages/{PACKAGE}/breakdowns/versions/?grouping=exact",
    f"/packages/{PACKAGE}/breakdowns/installers/",
    f"/packages/{PACKAGE}/breakdowns/countries/",
    f"/packages/{PACKAGE}/breakdowns/versions/?range=all",
    f"/packages/{PACKAGE}/breakdowns/installers/?range=all&mode=share",
    f"/packages/{PACKAGE}/breakdowns/countries/?range=all",
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
            "VAR_DIR": tempfile.mkdtemp(prefix="bench-breakdowns-"),
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

        def timed(url: str) -> tuple[float, int]:
            started = time.perf_counter()
            response = client.get(url, secure=True, headers={"HX-Request": "true"})
            spent = time.perf_counter() - started
            assert response.status_code == 200, (url, response.status_code)
            return spent, len(response.content)

        cache.key_prefix = "bench-breakdowns-warmup"
        for url in URLS:
            timed(url)
        for url in URLS:
            cold = []
            for i in range(args.cold):
                cache.key_prefix = f"bench-breakdowns-{time.time_ns()}-{i}"
                stand_in.clear_queries()
                cold.append(timed(url)[0])
            queries_cold = len(stand_in.queries)
            stand_in.clear_queries()
            warm = [timed(url) for _ in range(args.warm)]
            results[url] = {
                "cold_ms": summary(cold),
                "warm_ms": summary([w[0] for w in warm]),
                "bytes": warm[-1][1],
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

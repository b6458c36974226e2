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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standin_bench import (  # noqa: E402  (bench/ is not a package)
    Results,
    cache_backend,
    django_with_stand_in,
    main,
    summary,
)

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


def run(args: argparse.Namespace) -> Results:
    with django_with_stand_in([PACKAGE]) as (stand_in, client):
        from django.core.cache import cache

        results: Results = {"cache": cache_backend()}

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


if __name__ == "__main__":
    raise SystemExit(main(__doc__, "breakdowns", run))

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
QUERIES = ("", "?range=all&agg=month")


def run(args: argparse.Namespace) -> Results:
    with django_with_stand_in([PACKAGE]) as (stand_in, client):
        from django.core.cache import cache

        results: Results = {"cache": cache_backend()}

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


if __name__ == "__main__":
    raise SystemExit(main(__doc__, "untracked", run))

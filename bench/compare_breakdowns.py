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
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standin_bench import (  # noqa: E402  (bench/ is not a package)
    Results,
    cache_backend,
    django_with_stand_in,
    main,
    summary,
)

FIVE = ("httpx", "sqlalchemy", "flask", "attrs", "fastapi")
BASE = "/compare/?packages=" + ",".join(FIVE)
URLS = (
    BASE + "&metric=installer",
    BASE + "&metric=version",
    BASE + "&metric=country&category=DE&range=all",
    BASE.replace("/compare/", "/compare/export.csv") + "&metric=installer",
)


def run(args: argparse.Namespace) -> Results:
    with django_with_stand_in(FIVE) as (stand_in, client):
        from django.core.cache import cache

        from packages_app.history import breakdown_keys
        from packages_app.history.breakdown_selectors import Kind

        results: Results = {"cache": cache_backend()}

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


if __name__ == "__main__":
    raise SystemExit(main(__doc__, "compare-breakdowns", run))

#!/usr/bin/env python
"""Benchmark the ClickHouse backfill and the store's bytes per point with 10 years per package.

Not a test. Creates a dedicated PostgreSQL database (default pss_bench_history, dropped at
the end unless --keep), starts the ClickHouse stand-in (chdb, in this process) holding one
long-lived demo package (django: every day since 2016), then:
  1. backfill: `history.services.package_backfill` of that package's full history (10 years x
     every series: 5 queries over HTTP, mapping, one transaction), --runs times, each on an
     emptied store, timed in three parts (ClickHouse queries, mapping, the write);
  2. storage: the backfilled month rows copied to --packages packages in SQL (the same
     categories and held days; bytes per point do not depend on the values, which are
     packed 8 bytes each), then bytes per stored point (table + indexes) as loaded and after
     a REINDEX, beside today's budget (docs/benchmarks.md, "Storage").

    .venv/bin/python bench/history_backfill.py [--packages 1000] [--runs 5]

Connection: BENCH_PG (default postgres://postgres@127.0.0.1:5432).
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
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
LATEST = dt.date(2026, 11, 23)
PACKAGE = "django"


def admin_sql(base: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", default="pss_bench_history")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    admin_sql(base, f'DROP DATABASE IF EXISTS "{args.db}"')
    admin_sql(base, f'CREATE DATABASE "{args.db}"')
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        {
            "DATABASE_URL": f"{base}/{args.db}",
            "VAR_DIR": tempfile.mkdtemp(prefix="bench-history-"),
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "pypistats_site.settings",
            "CLICKHOUSE_RATE_PER_SECOND": "0",
            "CLICKHOUSE_RATE_PER_MINUTE": "0",
        }
    )
    load_before = os.getloadavg()
    try:
        results = run(args)
        results["load_average_before"] = [round(x, 2) for x in load_before]
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(results, indent=2))
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            admin_sql(base, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    return 0


def run(args: argparse.Namespace) -> dict[str, object]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from packages_app.demo.clickhouse import DemoClickHouse
    from packages_app.history import client as ch
    from packages_app.history import queries, services
    from packages_app.history.models import PackageHistory
    from packages_app.models import DownloadMonth, Package

    call_command("migrate", verbosity=0)
    package = Package.objects.create(name=PACKAGE)
    runs: list[dict[str, float | int]] = []
    with DemoClickHouse.running(latest=LATEST, packages=[PACKAGE]) as stand_in:
        settings.CLICKHOUSE_URL = stand_in.url
        spent = {"queries_s": 0.0, "map_s": 0.0}
        selects: list[float] = []
        # Time the two halves of package_series: the HTTP round trips inside select, and the rest.
        original_select = ch.ClickHouseClient.select

        def timed_select(
            self: ch.ClickHouseClient, sql: str, params: Mapping[str, str]
        ) -> list[ch.Row]:
            started = time.perf_counter()
            try:
                return original_select(self, sql, params)
            finally:
                selects.append(time.perf_counter() - started)

        ch.ClickHouseClient.select = timed_select  # type: ignore[method-assign]  # timing only
        original_series = queries.package_series

        def timed_series(
            client: ch.ClickHouseClient, name: str, since: dt.date, through: dt.date
        ) -> queries.Points:
            started = time.perf_counter()
            try:
                return original_series(client, name, since, through)
            finally:
                spent["map_s"] += time.perf_counter() - started

        queries.package_series = timed_series
        with ch.ClickHouseClient() as client:
            # One warm-up (connection, chdb's first reads of the parts), not counted.
            services.package_backfill(package_id=package.pk, client=client)
            for _ in range(args.runs):
                DownloadMonth.objects.filter(package=package).delete()
                PackageHistory.objects.filter(package=package).delete()
                spent.update(map_s=0.0)
                selects.clear()
                started, cpu_started = time.perf_counter(), time.process_time()
                result = services.package_backfill(package_id=package.pk, client=client)
                wall = time.perf_counter() - started
                # This process's CPU: our client, mapping and writes, plus the stand-in's
                # HTTP thread and chdb (in-process); PostgreSQL's own CPU is not in it.
                cpu = time.process_time() - cpu_started
                assert result.state == "ok", result.error
                # selects[0] is the dates query; the other four run inside package_series.
                runs.append(
                    {
                        "wall_s": round(wall, 3),
                        "process_cpu_s": round(cpu, 3),
                        "clickhouse_queries_s": round(sum(selects), 3),
                        "mapping_s": round(spent["map_s"] - sum(selects[1:]), 3),
                        "write_s": round(wall - spent["map_s"] - selects[0], 3),
                        "queries": result.queries,
                        "points": result.inserted,
                        "days": ((result.through or LATEST) - (result.since or LATEST)).days + 1,
                    }
                )
                print("backfill", json.dumps(runs[-1]), flush=True)
    months = DownloadMonth.objects.filter(package=package).count()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO packages_app_package (name, tracked, paused, upstream_state, "
            "last_error, consecutive_failures, data_version, created_at) "
            "SELECT 'bench-' || lpad(i::text, 5, '0'), true, false, 'ok', '', 0, 0, now() "
            "FROM generate_series(2, %s) AS i",
            [args.packages],
        )
        cursor.execute(
            "INSERT INTO packages_app_downloadmonth (package_id, category_id, held, month, days) "
            "SELECT p.id, m.category_id, m.held, m.month, m.days "
            "FROM packages_app_package p CROSS JOIN packages_app_downloadmonth m "
            "WHERE p.name LIKE 'bench-%%' AND m.package_id = %s "
            "ORDER BY p.id, m.category_id, m.month",
            [package.pk],
        )
        cursor.execute("VACUUM ANALYZE packages_app_downloadmonth")
        storage = sizes(cursor)
        cursor.execute("REINDEX TABLE packages_app_downloadmonth")
        storage_reindexed = sizes(cursor)
    walls = [float(r["wall_s"]) for r in runs]
    return {
        "package": PACKAGE,
        "runs": runs,
        "backfill_wall_s_median": statistics.median(walls),
        "backfill_wall_s_min": min(walls),
        "backfill_wall_s_max": max(walls),
        "process_cpu_s_median": statistics.median(float(r["process_cpu_s"]) for r in runs),
        "months_per_package": months,
        "storage": storage,
        "storage_after_reindex": storage_reindexed,
    }


def sizes(cursor: object) -> dict[str, float | int]:
    table = "packages_app_downloadmonth"
    cursor.execute(  # type: ignore[attr-defined]
        f"SELECT pg_relation_size('{table}') + coalesce(pg_relation_size("
        f"(SELECT reltoastrelid FROM pg_class WHERE relname = '{table}')), 0), "
        f"pg_indexes_size('{table}'), pg_total_relation_size('{table}'), "
        f"(SELECT count(*) FROM {table}), (SELECT sum(held) FROM {table}), "
        f"(SELECT count(DISTINCT package_id) FROM {table})"
    )
    heap, indexes, total, rows, points, packages = cursor.fetchone()  # type: ignore[attr-defined]
    return {
        "packages": packages,
        "rows": rows,
        "points": int(points),
        "heap_mb": round(heap / 1e6, 1),
        "indexes_mb": round(indexes / 1e6, 1),
        "total_mb": round(total / 1e6, 1),
        "bytes_per_point": round(total / int(points), 1),
    }


if __name__ == "__main__":
    sys.exit(main())

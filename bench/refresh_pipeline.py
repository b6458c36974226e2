#!/usr/bin/env python
"""Benchmark the refresh pipeline: demo upstream -> client -> validation -> PostgreSQL.

Not a test. Creates a dedicated PostgreSQL database (default pss_bench_a, dropped at
the end unless --keep), serves the demo upstream in a subprocess with its rate limit
off (and our budget off), then:
  1. backfill: the first refresh of N packages (181 days x every category);
  2. incremental: "advance today" by a day, refresh the same N again;
  3. storage: bytes per stored point (table + indexes) for our schema and for
     upstream's own (overall/python_major/python_minor/system with their PK and
     package index), loaded with the same data in the same database;
  4. EXPLAIN of the reads pages and the API make, to show they are index-only.

    .venv/bin/python bench/refresh_pipeline.py [--packages 1000] [--processes 2] [--threads 2]

The refreshes run in worker processes (default 2, one per core, as the Celery worker's
prefork pool does), each with a few threads so one waits on HTTP while another computes.

Connection: BENCH_PG (default postgres://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TODAY = dt.date(2026, 11, 24)


class Spent(TypedDict):
    """Seconds spent, summed over threads."""

    http_s: float
    validate_s: float
    write_s: float


class Share(TypedDict):
    """What one worker process reports back (pickled to the parent)."""

    results: list[tuple[str, int, int, int, str]]  # (status, calls, inserted, updated, error)
    spent: Spent
    cpu_s: float
    peak_rss_mb: float


class Phase(TypedDict):
    """One phase's figures, as printed and written to --json (in this key order)."""

    packages: int
    processes: int
    threads_per_process: int
    wall_s: float
    calls: int
    calls_per_s: float
    inserted: int
    updated: int
    points_written: int
    points_per_s: int
    errors: int
    first_error: str
    peak_rss_mb: float
    refresh_cpu_s: float
    demo_upstream_cpu_s: float
    http_s: float
    validate_s: float
    write_s: float
    load_average: float


class Sizes(TypedDict):
    rows: int
    heap: int
    indexes: int
    total: int


class OurSizes(Sizes):
    points: int


class Storage(TypedDict):
    ours_reindexed_bytes_per_point: float
    ratio_reindexed: float
    ours: OurSizes
    upstream: Sizes
    ours_bytes_per_point: float
    upstream_bytes_per_point: float
    ratio: float


def admin_sql(base: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def start_demo(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "demo_upstream",
            "--port",
            "0",
            "--no-rate-limit",
            "--today",
            TODAY.isoformat(),
        ],
        cwd=ROOT,
        env={**env, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.split(" on ")[1].split()[0]


def refresh_share(package_ids: list[int], threads: int) -> Share:
    """One worker process's share of a phase: `threads` threads refreshing its packages."""
    from django.db import connection, connections

    from packages_app.sync import services, upstream

    connections.close_all()  # never share the parent's connection across a fork
    local = threading.local()
    clients: list[upstream.UpstreamClient] = []
    spent: Spent = {"http_s": 0.0, "validate_s": 0.0, "write_s": 0.0}
    spent_lock = threading.Lock()

    def timed[**P, R](
        key: Literal["http_s", "validate_s", "write_s"], function: Callable[P, R]
    ) -> Callable[P, R]:
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with spent_lock:
                    spent[key] += time.perf_counter() - started

        return wrapper

    # Where the time goes (summed over threads): HTTP to the demo upstream, payload
    # validation, and the database transaction (diff read + month upserts + package row).
    # Instrumenting a method of the class, in this forked worker only.
    upstream.UpstreamClient._get = timed("http_s", upstream.UpstreamClient._get)  # type: ignore[method-assign]
    upstream.parse_series = timed("validate_s", upstream.parse_series)
    upstream.parse_recent = timed("validate_s", upstream.parse_recent)
    services._write = timed("write_s", services._write)

    def one(package_id: int) -> services.RefreshResult:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = upstream.UpstreamClient(max_wait=None)
            clients.append(client)
        return services.refresh_package(package_id=package_id, client=client)

    cpu_before = time.process_time()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, package_ids))
        list(pool.map(lambda _: connection.close(), range(threads * 4)))
    for client in clients:
        client.close()
    return {
        "results": [(r.status, r.calls, r.inserted, r.updated, r.error) for r in results],
        "spent": spent,
        "cpu_s": time.process_time() - cpu_before,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(package_ids: list[int], processes: int, threads: int, demo_pid: int) -> Phase:
    """Refresh the packages in `processes` worker processes of `threads` threads each,
    as Celery's prefork pool does (one process per core)."""
    from django.db import connections

    connections.close_all()
    shares = [package_ids[i::processes] for i in range(processes)]
    demo_cpu_before = _cpu_seconds(demo_pid)
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        outcomes = pool.starmap(refresh_share, [(share, threads) for share in shares])
    wall = time.perf_counter() - started
    demo_cpu = _cpu_seconds(demo_pid) - demo_cpu_before
    results = [r for outcome in outcomes for r in outcome["results"]]
    spent: Spent = {
        "http_s": sum(outcome["spent"]["http_s"] for outcome in outcomes),
        "validate_s": sum(outcome["spent"]["validate_s"] for outcome in outcomes),
        "write_s": sum(outcome["spent"]["write_s"] for outcome in outcomes),
    }
    calls = sum(r[1] for r in results)
    inserted = sum(r[2] for r in results)
    updated = sum(r[3] for r in results)
    written = inserted + updated
    errors = [r[4] for r in results if r[0] != "ok"]
    return {
        "packages": len(results),
        "processes": processes,
        "threads_per_process": threads,
        "wall_s": round(wall, 2),
        "calls": calls,
        "calls_per_s": round(calls / wall, 1),
        "inserted": inserted,
        "updated": updated,
        "points_written": written,
        "points_per_s": round(written / wall),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "peak_rss_mb": round(max(outcome["peak_rss_mb"] for outcome in outcomes), 1),
        "refresh_cpu_s": round(sum(outcome["cpu_s"] for outcome in outcomes), 1),
        "demo_upstream_cpu_s": round(demo_cpu, 1),
        "http_s": round(spent["http_s"], 1),
        "validate_s": round(spent["validate_s"], 1),
        "write_s": round(spent["write_s"], 1),
        "load_average": os.getloadavg()[0],
    }


UPSTREAM_TABLES = {"overall": 16, "python_major": 4, "python_minor": 4, "system": 8}


OURS = "packages_app_downloadmonth"
# The points held, one row per day, decoded in SQL from the packed months (big-endian
# int8 per day, -1 where not held): what the upstream-schema tables are loaded from.
POINTS_SQL = f"""
    SELECT m.package_id, m.category_id, m.month + g.i AS date, v.downloads
    FROM {OURS} m
    CROSS JOIN LATERAL generate_series(0, length(m.days) / 8 - 1) AS g(i)
    CROSS JOIN LATERAL (
        SELECT ('x' || encode(substring(m.days FROM g.i * 8 + 1 FOR 8), 'hex'))::bit(64)::bigint
            AS downloads
    ) v
    WHERE v.downloads >= 0
"""


def sizes(cursor: CursorWrapper, table: str) -> tuple[int, int, int]:
    cursor.execute(
        f"SELECT pg_relation_size('{table}'), pg_indexes_size('{table}'), "
        f"pg_total_relation_size('{table}')"
    )
    heap, indexes, total = cursor.fetchone()
    return heap, indexes, total


def storage(cursor: CursorWrapper) -> Storage:
    cursor.execute(f"VACUUM ANALYZE {OURS}")
    cursor.execute(f"SELECT coalesce(sum(held), 0), count(*) FROM {OURS}")
    points, rows = cursor.fetchone()
    heap, indexes, total = sizes(cursor, OURS)
    ours: OurSizes = {
        "points": points,
        "rows": rows,
        "heap": heap,
        "indexes": indexes,
        "total": total,
    }
    up_total = up_heap = up_indexes = up_rows = 0
    for metric, (table, width) in enumerate(UPSTREAM_TABLES.items(), start=1):
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"CREATE TABLE {table} (date DATE NOT NULL, package VARCHAR(128) NOT NULL, "
            f"category VARCHAR({width}) NOT NULL, downloads BIGINT NOT NULL, "
            f"PRIMARY KEY (date, package, category))"
        )
        cursor.execute(f"CREATE INDEX ix_{table}_package ON {table} (package)")
        cursor.execute(
            f"INSERT INTO {table} SELECT p.date, k.name, c.name, p.downloads "
            f"FROM ({POINTS_SQL}) p JOIN packages_app_package k ON k.id = p.package_id "
            "JOIN packages_app_category c ON c.id = p.category_id WHERE c.metric = %s "
            "ORDER BY p.date, k.name, c.name",
            [metric],
        )
        up_rows += cursor.rowcount
        cursor.execute(f"VACUUM ANALYZE {table}")
        h, i, t = sizes(cursor, table)
        up_heap, up_indexes, up_total = up_heap + h, up_indexes + i, up_total + t
    upstream_schema: Sizes = {
        "rows": up_rows,
        "heap": up_heap,
        "indexes": up_indexes,
        "total": up_total,
    }
    # Each day's refresh rewrites the current month's rows (a new tuple and index entry
    # each); a REINDEX (routine maintenance) shows the compact size.
    cursor.execute(f"REINDEX TABLE {OURS}")
    reindexed = sizes(cursor, OURS)[2]
    return {
        "ours_reindexed_bytes_per_point": round(reindexed / points, 1),
        "ratio_reindexed": round(reindexed / up_total, 3),
        "ours": ours,
        "upstream": upstream_schema,
        "ours_bytes_per_point": round(total / points, 1),
        "upstream_bytes_per_point": round(up_total / up_rows, 1),
        "ratio": round(total / up_total, 3),
    }


def explain(cursor: CursorWrapper, package_id: int, name: str) -> dict[str, str]:
    since = TODAY - dt.timedelta(days=181)
    first_month = since.replace(day=1)
    plans: dict[str, str] = {}
    queries: dict[str, tuple[str, list[int | dt.date | str]]] = {
        "ours: one package, overall, a date range": (
            f"SELECT category_id, month, days FROM {OURS} "
            "WHERE package_id = %s AND category_id IN (SELECT id FROM packages_app_category WHERE metric = 1) "
            "AND month >= %s ORDER BY category_id, month",
            [package_id, first_month],
        ),
        "ours: one package, every month in the window (refresh diff read)": (
            f"SELECT category_id, month, days FROM {OURS} "
            "WHERE package_id = %s AND month >= %s AND month <= %s",
            [package_id, first_month, TODAY],
        ),
        "upstream schema: one package, overall": (
            "SELECT category, date, downloads FROM overall WHERE package = %s ORDER BY category, date",
            [name],
        ),
    }
    for title, (sql, params) in queries.items():
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, params)
        plans[title] = "\n".join(row[0] for row in cursor.fetchall())
    return plans


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument(
        "--processes", type=int, default=2, help="worker processes (Celery's prefork pool)"
    )
    parser.add_argument("--threads", type=int, default=2, help="threads per worker process")
    parser.add_argument("--db", default="pss_bench_a")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    base = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    admin_sql(base, f'DROP DATABASE IF EXISTS "{args.db}"')
    admin_sql(base, f'CREATE DATABASE "{args.db}"')
    var_dir = tempfile.mkdtemp(prefix="bench-refresh-")
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        {
            "DATABASE_URL": f"{base}/{args.db}",
            "VAR_DIR": var_dir,
            "UPSTREAM_RATE_PER_SECOND": "0",
            "UPSTREAM_RATE_PER_MINUTE": "0",
            "LOG_LEVEL": "WARNING",
            # The stand-in upstream keeps every generated day (~200 MB for 1,000 packages),
            # as the real one serves stored rows: the incremental run measures our side.
            "DEMO_DAY_CACHE": str(args.packages * 200),
        }
    )
    demo, url = start_demo(env)
    try:
        env["PYPISTATS_API_URL"] = url
        os.environ.clear()
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "pypistats_site.settings"
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from packages_app.models import Package

        call_command("migrate", verbosity=0)
        Package.objects.bulk_create(Package(name=f"bench-{i:05d}") for i in range(args.packages))
        ids = list(Package.objects.order_by("pk").values_list("pk", flat=True))
        print(
            f"demo upstream {url}; {len(ids)} packages; "
            f"{args.processes} processes x {args.threads} threads",
            flush=True,
        )

        backfill = run_phase(ids, args.processes, args.threads, demo.pid)
        print("backfill", json.dumps(backfill), flush=True)
        request = urllib.request.Request(
            url.removesuffix("/api") + "/_control",
            data=json.dumps({"advance_days": 1}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(request, timeout=10).read()
        incremental = run_phase(ids, args.processes, args.threads, demo.pid)
        print("incremental", json.dumps(incremental), flush=True)
        with connection.cursor() as cursor:
            sizes = storage(cursor)
            print("storage", json.dumps(sizes), flush=True)
            plans = explain(cursor, ids[0], "bench-00000")
        for title, plan in plans.items():
            print(f"\n-- {title}\n{plan}")
        results = {
            "backfill": backfill,
            "incremental": incremental,
            "storage": sizes,
            "plans": plans,
        }
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        connection.close()
    finally:
        demo.terminate()
        demo.wait(timeout=10)
        if not args.keep:
            admin_sql(base, f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())

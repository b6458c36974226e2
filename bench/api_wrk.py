"""Benchmark the compatible JSON API with wrk: granian (2 WSGI workers) on PostgreSQL + Redis.

Not a test. It
  1. (re)creates a dedicated PostgreSQL database (default pss_bench_b), migrates it and
     bulk-loads 10,000 packages x 181 days of synthetic points in every category
     (overall 2, python_major 3, python_minor 11, system 5: ~40M rows) with set-based SQL;
  2. starts the server on 127.0.0.1:<free port> with DEBUG=0, HTTPS=0 and its own Redis DB:
     granian (--interface wsgi, 2 workers, 2 blocking threads each, keep-alive) as the Dockerfile
     runs it; --server gunicorn-sync is the previous setup (2 sync workers, no keep-alive),
     --server gunicorn-gthread the keep-alive alternative (threads: --blocking-threads);
     --no-fast-path sends every request through Django (API_FAST_PATH=0);
  3. runs wrk (16 connections) with a Lua script, for `overall` and `python_minor`: cold (Redis
     flushed first; each package asked once, in a shuffled order, for --cold-duration seconds;
     the misses column counts the answers stored), warm (random picks among --warm-packages
     whose answers were fetched first) and 304s (the same, with each one's ETag in
     If-None-Match);
  4. prints a Markdown table (req/s, p50, p99, non-2xx/3xx, socket errors, misses) for
     docs/benchmarks.md, with the load average before and after.

    .venv/bin/python bench/api_wrk.py                 # load (if needed) and run everything
    .venv/bin/python bench/api_wrk.py --reload        # drop and reload the data first
    .venv/bin/python bench/api_wrk.py --duration 15 --connections 16
    .venv/bin/python bench/api_wrk.py --server gunicorn-sync --no-fast-path   # the old setup

Needs wrk (`apt-get install -y wrk`), PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CATEGORIES = {
    1: ["with_mirrors", "without_mirrors"],
    2: ["2", "3", "null"],
    3: ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "null"],
    4: ["Darwin", "Linux", "Windows", "other", "null"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def load(pg: str, db: str, env: dict[str, str], packages: int, days: int, reload: bool) -> None:
    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if exists and reload:
            conn.execute(f'DROP DATABASE "{db}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{db}"')
    with psycopg.connect(f"{pg}/{db}", autocommit=True) as conn:
        have = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'packages_app_package'"
        ).fetchone()
        if have and have[0]:
            count = conn.execute("SELECT count(*) FROM packages_app_package").fetchone()
            if count and count[0] == packages:
                print(f"{db}: {packages} packages already loaded (use --reload to rebuild)")
                return
    print(f"{db}: migrating")
    run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], env)
    started = time.monotonic()
    with psycopg.connect(f"{pg}/{db}", autocommit=True) as conn:
        for table in (
            "packages_app_downloadmonth",
            "packages_app_recentdownloads",
            "packages_app_refreshrun",
            "packages_app_package",
            "packages_app_category",
        ):
            conn.execute(f"TRUNCATE {table} CASCADE")
        for metric, names in CATEGORIES.items():
            for name in names:
                conn.execute(
                    "INSERT INTO packages_app_category (metric, name) VALUES (%s, %s)",
                    [metric, name],
                )
        latest = "2026-11-23"
        conn.execute(
            """
            INSERT INTO packages_app_package (name, tracked, paused, upstream_state, first_date,
                latest_date, last_refreshed_at, last_error, consecutive_failures, data_version,
                created_at, next_attempt_at)
            SELECT 'pkg-' || lpad(i::text, 5, '0'), true, false, 'ok',
                   %s::date - %s, %s::date, now(), '', 0, 1, now(), now() + interval '1 day'
            FROM generate_series(1, %s) AS i
            """,
            [latest, days - 1, latest, packages],
        )
        # Bulk load without the primary key and the foreign keys (whose per-row deferred
        # triggers would dominate), then build the key once and validate the FKs in one pass.
        table = "packages_app_downloadmonth"
        constraints = conn.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            f"WHERE conrelid = '{table}'::regclass AND contype IN ('p', 'f')"
        ).fetchall()
        pk = next(c for c in constraints if c[1] == "p")
        for name, _, _ in constraints:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        print(f"{db}: loading ~{packages * days * 21:,} points")
        conn.execute("SET work_mem = '256MB'")
        # Months packed as packages_app.points does: a big-endian int8 per day of the
        # month (int8send), -1 for the days outside the window held.
        conn.execute(
            f"""
            INSERT INTO {table} (package_id, category_id, held, month, days)
            SELECT p.id, c.id,
                   count(*) FILTER (WHERE g.day::date BETWEEN %(first)s AND %(latest)s),
                   m.month::date,
                   string_agg(
                       CASE WHEN g.day::date BETWEEN %(first)s AND %(latest)s
                       THEN int8send(((p.id * 7919 + c.id * 104729
                                      + (%(latest)s - g.day::date) * 31) %% 100000)::bigint)
                       ELSE int8send(-1::bigint) END,
                       ''::bytea ORDER BY g.day)
            FROM packages_app_package p
            CROSS JOIN packages_app_category c
            CROSS JOIN generate_series(date_trunc('month', %(first)s::date),
                                       %(latest)s::date, interval '1 month') AS m(month)
            CROSS JOIN LATERAL generate_series(
                m.month, m.month + interval '1 month' - interval '1 day', interval '1 day'
            ) AS g(day)
            GROUP BY p.id, c.id, m.month
            """,
            {
                "first": dt.date.fromisoformat(latest) - dt.timedelta(days=days - 1),
                "latest": dt.date.fromisoformat(latest),
            },
        )
        conn.execute(
            f'ALTER TABLE {table} ADD CONSTRAINT "{pk[0]}" '
            "PRIMARY KEY (package_id, category_id, month) INCLUDE (days)"
        )
        for name, kind, definition in constraints:
            if kind == "f":
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.execute(
            """
            INSERT INTO packages_app_recentdownloads (package_id, last_day, last_week, last_month, updated_at)
            SELECT id, 10, 70, 300, now() FROM packages_app_package
            """
        )
        conn.execute("VACUUM ANALYZE")
    print(f"{db}: loaded in {time.monotonic() - started:.0f} s")


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    if args.server.startswith("gunicorn"):
        worker_class = args.server.removeprefix("gunicorn-")
        threads = ["--threads", str(args.blocking_threads)] if worker_class == "gthread" else []
        return [
            str(VENV_BIN / "gunicorn"),
            "pypistats_site.wsgi",
            "-w",
            str(args.workers),
            "-k",
            worker_class,
            *threads,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
    return [
        str(VENV_BIN / "granian"),
        "--interface",
        "wsgi",
        "--workers",
        str(args.workers),
        "--blocking-threads",
        str(args.blocking_threads),
        "--no-ws",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "pypistats_site.wsgi:application",
    ]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/packages/pkg-00001/recent")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not answer")


def fetch_all(port: int, paths: list[str], workers: int = 6) -> dict[str, str]:
    """GET every path (warming the cache); return each path's ETag."""

    def one(path: str) -> tuple[str, str]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        return path, response.getheader("ETag") or ""

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, paths))


LUA = """
math.randomseed(%(seed)d)
local n = %(n)d
local endpoint = "%(endpoint)s"
local etags = {%(etags)s}
local cold = %(cold)s
local nthreads = %(threads)d
-- Cold runs walk one shuffled order of all packages (the same in every thread, each thread
-- taking every nthreads-th entry), so no package is asked twice until all have been.
local order = {}
if cold then
  for k = 1, n do order[k] = k end
  for k = n, 2, -1 do
    local j = math.random(1, k)
    order[k], order[j] = order[j], order[k]
  end
end
local next = 0
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
request = function()
  local i
  if cold then
    i = order[(next * nthreads + id) %% n + 1]
    next = next + 1
  else
    i = math.random(1, n)
  end
  local path = string.format("/api/packages/pkg-%%05d/%%s", i, endpoint)
  local headers = {}
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", path, headers)
end
"""


def wrk(
    port: int,
    endpoint: str,
    n: int,
    etags: list[str],
    args: argparse.Namespace,
    cold: bool = False,
) -> dict[str, str]:
    duration = args.cold_duration if cold else args.duration
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            LUA
            % {
                "seed": 42,
                "n": n,
                "endpoint": endpoint,
                "etags": ",".join("'" + e + "'" for e in etags),
                "cold": "true" if cold else "false",
                "threads": args.threads,
            }
        )
        script = f.name
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{duration}s",
        "--latency",
        "-s",
        script,
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    if args.verbose:
        print(out)
    result = {
        "req/s": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1),  # type: ignore[union-attr]
        "p50": re.search(r"\s50%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "p99": re.search(r"\s99%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "requests": re.search(r"(\d+) requests in", out).group(1),  # type: ignore[union-attr]
    }
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non-2xx/3xx"] = non2xx.group(1) if non2xx else "0"
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket errors"] = errors.group(1).strip() if errors else "none"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--db", default=os.environ.get("BENCH_DB", "pss_bench_b"))
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/2")
    )
    parser.add_argument("--packages", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=181)
    parser.add_argument("--duration", type=int, default=12)
    parser.add_argument(
        "--cold-duration",
        type=int,
        default=4,
        help="cold runs: short enough that no package is asked twice (see the misses column)",
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--warm-packages", type=int, default=2_000, help="packages in the warm and 304 runs"
    )
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn-sync", "gunicorn-gthread"],
        default="granian",
        help="granian: what Dockerfile runs (WSGI, keep-alive); gunicorn-sync: the old setup",
    )
    parser.add_argument(
        "--blocking-threads",
        type=int,
        default=2,
        help="granian blocking threads (gunicorn-gthread: threads) per worker",
    )
    parser.add_argument(
        "--no-fast-path",
        dest="fast_path",
        action="store_false",
        help="API_FAST_PATH=0: every request through Django",
    )
    parser.add_argument("--endpoints", nargs="+", default=["overall", "python_minor"])
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")

    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{args.db}",
        "REDIS_URL": args.redis,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_KEY_PREFIX": "pss-bench",
        "LOG_LEVEL": "WARNING",
        # The limiter stays on (its cost is part of every request), far above wrk's rate.
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    load(args.pg, args.db, env, args.packages, args.days, args.reload)
    port = free_port()
    if not args.fast_path:
        env["API_FAST_PATH"] = "0"
    server = subprocess.Popen(server_command(args, port), cwd=ROOT, env=env)
    print(f"load average before the runs: {os.getloadavg()}")
    store = redis.Redis.from_url(args.redis)
    flush = store.flushdb
    rows = []
    try:
        wait_for(port)
        for endpoint in args.endpoints:
            paths = [f"/api/packages/pkg-{i:05d}/{endpoint}" for i in range(1, args.packages + 1)]
            flush()
            result = wrk(port, endpoint, args.packages, [], args, cold=True)
            # Every miss stores its answer: the answers in Redis are the misses served.
            misses = sum(1 for _ in store.scan_iter("pss-bench:*:api:*", count=1000))
            result["misses"] = str(misses)
            rows.append((endpoint, "cold (cache flushed, each package once)", result))
            print(rows[-1])
            # Warm: the first --warm-packages answers are fetched (cached) first, and wrk
            # picks among them; the data set is still every package's points.
            etags = fetch_all(port, paths[: args.warm_packages])
            rows.append(
                (
                    endpoint,
                    f"warm ({args.warm_packages} packages)",
                    wrk(port, endpoint, args.warm_packages, [], args),
                )
            )
            print(rows[-1])
            subset = [etags[p] for p in paths[: args.warm_packages]]
            rows.append(
                (
                    endpoint,
                    f"304 (If-None-Match, {len(subset)} packages)",
                    wrk(port, endpoint, len(subset), subset, args),
                )
            )
            print(rows[-1])
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print()
    print(f"load average after the runs: {os.getloadavg()}")
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s (cold: -d{args.cold_duration}s); "
        f"{args.server}, "
        f"{args.workers} workers, fast path {'on' if args.fast_path else 'off'}; "
        f"{args.packages} packages x {args.days} days"
    )
    print(
        "| endpoint | cache | req/s | p50 | p99 | requests | non-2xx/3xx | socket errors | misses |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for endpoint, label, r in rows:
        print(
            f"| {endpoint} | {label} | {r['req/s']} | {r['p50']} | {r['p99']} | {r['requests']} | "
            f"{r['non-2xx/3xx']} | {r['socket errors']} | {r.get('misses', '0 (pre-fetched)')} |"
        )


if __name__ == "__main__":
    main()

"""Benchmark the compatible JSON API with wrk: the Dockerfile's granian command on PostgreSQL + Redis.

Not a test. It
  1. (re)creates a dedicated PostgreSQL database, migrates it and bulk-loads 181 days of points
     with set-based SQL, in one of two shapes (--shape):
       realistic (default, database pss_bench_r): 10,001 packages from tiny to `__all__` whose
         answers have the category counts and body sizes of ../shared/upstream/samples
         (README there): the 500 `large-*` packages answer python_minor with 12 categories x
         181 days (~2,200 rows, ~123 KB), overall ~25 KB, python_major ~30 KB, system ~50 KB;
         `__all__` is bigger, `medium-*`, `small-*` and `tiny-*` smaller, with missing days;
       uniform (database pss_bench_b): the earlier synthetic data, 10,000 `pkg-*` packages with
         every one of 21 categories every day and 5-digit values (python_minor ~87 KB);
     it prints the rows and bytes of one answer per tier and endpoint (the data shape);
  2. starts the server on 127.0.0.1:<free port> with DEBUG=0, HTTPS=0 and its own Redis DB:
     granian exactly as the Dockerfile's CMD runs it (host and port aside); --server
     gunicorn-sync is the older setup (2 sync workers, no keep-alive), --server
     gunicorn-gthread the keep-alive alternative (threads: --blocking-threads);
     --no-fast-path sends every request through Django (API_FAST_PATH=0);
  3. runs wrk with a Lua script, for each of --endpoints: cold (Redis flushed first; each
     package asked once, in a shuffled order, for --cold-duration seconds; the misses column
     counts the answers stored), warm (random picks among the warm set, whose answers were
     fetched first: the `large-*` packages, or the first --warm-packages of the uniform shape)
     and 304s (the same, with each one's ETag in If-None-Match);
     or, with --ab-rounds N, the fast path against plain Django: two servers side by side
     (API_FAST_PATH=1 and 0), and N rounds of the same warm runs, each run on the fast path
     followed at once by the same run on Django: every endpoint on the warm set, 304s of
     python_minor, and python_minor over every package (the mix from tiny to `__all__`);
  4. prints Markdown tables for docs/benchmarks.md (req/s, p50, p99, errors, and `uptime`'s
     load average before every run).

    .venv/bin/python bench/api_wrk.py                 # load (if needed) and run everything
    .venv/bin/python bench/api_wrk.py --reload        # drop and reload the data first
    .venv/bin/python bench/api_wrk.py --duration 15 --connections 32
    .venv/bin/python bench/api_wrk.py --ab-rounds 3 --connections 32 --duration 10
    .venv/bin/python bench/api_wrk.py --shape uniform --server gunicorn-sync --no-fast-path

Needs wrk (`apt-get install -y wrk`), PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
LATEST = dt.date(2026, 11, 23)
ENDPOINTS = ["overall", "python_major", "python_minor", "system", "recent"]

# The uniform shape: every package has all of these, every day.
CATEGORIES = {
    1: ["with_mirrors", "without_mirrors"],
    2: ["2", "3", "null"],
    3: ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "null"],
    4: ["Darwin", "Linux", "Windows", "other", "null"],
}

# The realistic shape: each metric's categories with their share of a package's downloads,
# biggest first; a tier keeps the first N of each metric. The share sizes the numbers, hence
# the bytes: a `large` package's python_minor values have 3 to 5 digits, as the ~56 bytes a row
# of the samples' ~123 KB for ~2,200 rows imply.
SHARES = {
    1: [("with_mirrors", 1.0), ("without_mirrors", 0.93)],
    2: [("3", 0.93), ("null", 0.05), ("2", 0.02)],
    3: [
        ("3.12", 0.21), ("3.11", 0.19), ("3.10", 0.13), ("3.13", 0.11), ("3.9", 0.09),
        ("null", 0.08), ("3.8", 0.06), ("3.7", 0.04), ("3.14", 0.03), ("3.6", 0.02),
        ("2.7", 0.015), ("3.5", 0.005),
        # Only in `__all__`: what a few old or new interpreters still download.
        ("3.4", 0.002), ("2.6", 0.0005), ("3.15", 0.0003), ("3.3", 0.0001),
    ],
    4: [("Linux", 0.8), ("Windows", 0.08), ("Darwin", 0.06), ("null", 0.05), ("other", 0.01)],
}  # fmt: skip


@dataclass(frozen=True)
class Tier:
    prefix: str  # package names: <prefix>-00001…, or the name itself when count is 1
    count: int
    daily: float  # with_mirrors downloads a day (each package 0.5–1.5x this)
    categories: tuple[int, int, int, int]  # how many of SHARES' categories, per metric 1–4
    density: int  # % of days held in every category but the biggest (the others have gaps)


TIERS = [
    Tier("__all__", 1, 1.6e9, (2, 3, 16, 5), 100),
    Tier("large", 500, 1.0e5, (2, 3, 12, 5), 100),
    Tier("medium", 2000, 1.0e3, (2, 3, 10, 5), 100),
    Tier("small", 3500, 30.0, (2, 2, 6, 4), 60),
    Tier("tiny", 4000, 2.0, (2, 2, 3, 2), 25),
]
WARM_TIER = "large"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def package_names(shape: str, packages: int) -> list[str]:
    """Every package the shape loads, in id order."""
    if shape == "uniform":
        return [f"pkg-{i:05d}" for i in range(1, packages + 1)]
    return [
        tier.prefix if tier.count == 1 else f"{tier.prefix}-{i:05d}"
        for tier in TIERS
        for i in range(1, tier.count + 1)
    ]


def load(
    pg: str, db: str, env: dict[str, str], shape: str, packages: int, days: int, reload: bool
) -> None:
    names = package_names(shape, packages)
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
            held = conn.execute(
                "SELECT count(*), count(*) FILTER (WHERE name = %s) FROM packages_app_package",
                [names[-1]],
            ).fetchone()
            if held == (len(names), 1):
                print(f"{db}: {len(names)} packages already loaded (use --reload to rebuild)")
                return
    print(f"{db}: migrating")
    run([str(VENV_BIN / "python"), "manage.py", "migrate", "--noinput", "-v", "0"], env)
    started = time.monotonic()
    first = LATEST - dt.timedelta(days=days - 1)
    with psycopg.connect(f"{pg}/{db}", autocommit=True) as conn:
        for table in (
            "packages_app_downloadmonth",
            "packages_app_recentdownloads",
            "packages_app_refreshrun",
            "packages_app_package",
            "packages_app_category",
        ):
            conn.execute(f"TRUNCATE {table} CASCADE")
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
        conn.execute("SET work_mem = '256MB'")
        if shape == "uniform":
            _load_uniform(conn, packages, first)
        else:
            _load_realistic(conn, first)
        conn.execute(
            f'ALTER TABLE {table} ADD CONSTRAINT "{pk[0]}" '
            "PRIMARY KEY (package_id, category_id, month) INCLUDE (days)"
        )
        for name, kind, definition in constraints:
            if kind == "f":
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.execute("VACUUM ANALYZE")
        stored = conn.execute(f"SELECT count(*), sum(held) FROM {table}").fetchone()
    assert stored is not None
    print(
        f"{db}: {len(names)} packages, {stored[1]:,} points in {stored[0]:,} month rows, "
        f"loaded in {time.monotonic() - started:.0f} s"
    )


def _insert_packages(conn: psycopg.Connection, names: str, count: int, first: dt.date) -> None:
    """`count` packages named by the SQL expression `names` (of i), holding first..LATEST."""
    conn.execute(
        f"""
        INSERT INTO packages_app_package (name, tracked, paused, upstream_state, first_date,
            latest_date, last_refreshed_at, last_error, consecutive_failures, data_version,
            created_at, next_attempt_at)
        SELECT {names}, true, false, 'ok', %s, %s, now(), '', 0, 1, now(),
               now() + interval '1 day'
        FROM generate_series(1, %s) AS i
        """,
        [first, LATEST, count],
    )


def _load_uniform(conn: psycopg.Connection, packages: int, first: dt.date) -> None:
    for metric, names in CATEGORIES.items():
        for name in names:
            conn.execute(
                "INSERT INTO packages_app_category (metric, name, source) VALUES (%s, %s, 1)",
                [metric, name],
            )
    _insert_packages(conn, "'pkg-' || lpad(i::text, 5, '0')", packages, first)
    print(f"loading ~{packages * ((LATEST - first).days + 1) * 21:,} points")
    # Months packed as packages_app.store.points does: a big-endian int8 per day of the
    # month (int8send), -1 for the days outside the window held.
    conn.execute(
        """
        INSERT INTO packages_app_downloadmonth (package_id, category_id, held, month, days)
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
        {"first": first, "latest": LATEST},
    )
    conn.execute(
        """
        INSERT INTO packages_app_recentdownloads (package_id, last_day, last_week, last_month,
            updated_at)
        SELECT id, 10, 70, 300, now() FROM packages_app_package
        """
    )


def _load_realistic(conn: psycopg.Connection, first: dt.date) -> None:
    conn.execute(
        "CREATE TEMP TABLE bench_share (category_id int, metric int, share float8, rank int)"
    )
    for metric, shares in SHARES.items():
        for rank, (name, share) in enumerate(shares):
            conn.execute(
                """
                WITH c AS (INSERT INTO packages_app_category (metric, name, source) VALUES (%s, %s, 1)
                           RETURNING id)
                INSERT INTO bench_share SELECT id, %s, %s, %s FROM c
                """,
                [metric, name, metric, share, rank],
            )
    conn.execute(
        "CREATE TEMP TABLE bench_tier (package_id int PRIMARY KEY, daily float8, n1 int,"
        " n2 int, n3 int, n4 int, density int)"
    )
    for tier in TIERS:
        names = (
            f"'{tier.prefix}'" if tier.count == 1 else f"'{tier.prefix}-' || lpad(i::text, 5, '0')"
        )
        last = conn.execute("SELECT coalesce(max(id), 0) FROM packages_app_package").fetchone()
        assert last is not None
        _insert_packages(conn, names, tier.count, first)
        conn.execute(
            """
            INSERT INTO bench_tier
            SELECT id, %s * (0.5 + ((id * 7919) %% 1000) / 1000.0), %s, %s, %s, %s, %s
            FROM packages_app_package WHERE id > %s
            """,
            [tier.daily, *tier.categories, tier.density, last[0]],
        )
    # A day's value: the package's daily downloads x the category's share x a weekend dip x
    # +-15 % noise, at least 1; a day is held in the biggest category always, in the others
    # with the tier's density. Months packed as packages_app.store.points does (int8send per
    # day, -1 for a day not held); a month with no day held is not stored.
    conn.execute(
        """
        INSERT INTO packages_app_downloadmonth (package_id, category_id, held, month, days)
        SELECT t.package_id, s.category_id, count(*) FILTER (WHERE d.held), m.month::date,
               string_agg(int8send(CASE WHEN d.held THEN d.downloads ELSE -1 END),
                          ''::bytea ORDER BY g.day)
        FROM bench_tier t
        JOIN bench_share s ON s.rank < CASE s.metric WHEN 1 THEN t.n1 WHEN 2 THEN t.n2
                                                      WHEN 3 THEN t.n3 ELSE t.n4 END
        CROSS JOIN generate_series(date_trunc('month', %(first)s::date),
                                   %(latest)s::date, interval '1 month') AS m(month)
        CROSS JOIN LATERAL generate_series(
            m.month, m.month + interval '1 month' - interval '1 day', interval '1 day'
        ) AS g(day)
        CROSS JOIN LATERAL (
            SELECT g.day::date BETWEEN %(first)s AND %(latest)s
                   AND (s.rank = 0 OR (t.package_id * 193 + s.category_id * 389
                                       + (%(latest)s - g.day::date) * 7) %% 100 < t.density)
                   AS held,
                   greatest(1, round(
                       t.daily * s.share
                       * CASE WHEN extract(isodow FROM g.day) >= 6 THEN 0.75 ELSE 1.0 END
                       * (0.85 + 0.3 * ((t.package_id * 7919 + s.category_id * 104729
                                         + (%(latest)s - g.day::date) * 31) %% 1000) / 1000.0)
                   ))::bigint AS downloads
        ) AS d
        GROUP BY t.package_id, s.category_id, m.month
        HAVING count(*) FILTER (WHERE d.held) > 0
        """,
        {"first": first, "latest": LATEST},
    )
    conn.execute(
        """
        INSERT INTO packages_app_recentdownloads (package_id, last_day, last_week, last_month,
            updated_at)
        SELECT package_id, round(daily), round(daily * 7), round(daily * 30), now()
        FROM bench_tier
        """
    )


def dockerfile_command(port: int) -> list[str]:
    """The Dockerfile's CMD (granian), on 127.0.0.1:<port>, with this venv's granian."""
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError("the Dockerfile has no CMD [...] line")
    command: list[str] = json.loads(match.group(1))
    command[0] = str(VENV_BIN / command[0])
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


def server_command(args: argparse.Namespace, port: int) -> list[str]:
    if args.server.startswith("gunicorn"):
        worker_class = args.server.removeprefix("gunicorn-")
        threads = (
            ["--threads", str(args.blocking_threads or 2)] if worker_class == "gthread" else []
        )
        return [
            str(VENV_BIN / "gunicorn"),
            "pypistats_site.wsgi",
            "-w",
            str(args.workers or 2),
            "-k",
            worker_class,
            *threads,
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
    command = dockerfile_command(port)
    for flag, value in (("--workers", args.workers), ("--blocking-threads", args.blocking_threads)):
        if value is not None:
            command[command.index(flag) + 1] = str(value)
    return command


def wait_for(port: int, name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", f"/api/packages/{name}/recent")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("the server did not answer")


@dataclass(frozen=True)
class Fetched:
    etag: str
    size: int
    rows: int


def fetch_all(port: int, paths: list[str], workers: int = 6) -> dict[str, Fetched]:
    """GET every path (warming the cache); return each answer's ETag, bytes and rows."""

    def one(path: str) -> tuple[str, Fetched]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.status == 200, (path, response.status)
        data = json.loads(body)["data"]
        return path, Fetched(response.getheader("ETag") or "", len(body), len(data))

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return dict(pool.map(one, paths))


def path(name: str, endpoint: str) -> str:
    return f"/api/packages/{name}/{endpoint}"


def tiers_of(shape: str, names: list[str]) -> dict[str, list[str]]:
    if shape == "uniform":
        return {"pkg": names}
    return {tier.prefix: [n for n in names if n.split("-")[0] == tier.prefix] for tier in TIERS}


def shape_table(port: int, tiers: dict[str, list[str]], sample: int = 40) -> list[str]:
    """The data shape as served: rows and bytes of each tier's answers (a sample of each)."""
    lines = [
        "| tier (packages) | endpoint | rows (median) | body bytes (median) | body bytes (min–max) |",
        "|---|---|---|---|---|",
    ]
    for tier, names in tiers.items():
        chosen = random.Random(0).sample(names, min(sample, len(names)))
        for endpoint in ENDPOINTS:
            fetched = fetch_all(port, [path(n, endpoint) for n in chosen]).values()
            sizes = sorted(f.size for f in fetched)
            rows = statistics.median(f.rows for f in fetched)
            lines.append(
                f"| {tier} ({len(names):,}) | {endpoint} | {rows:,.0f} | "
                f"{statistics.median(sizes):,.0f} | {sizes[0]:,}–{sizes[-1]:,} |"
            )
    return lines


LUA = """
math.randomseed(%(seed)d)
local names = {%(names)s}
local n = #names
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
  local headers = {}
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", "/api/packages/" .. names[i] .. "/" .. endpoint, headers)
end
"""


def _wrk_field(pattern: str, out: str) -> str:
    """A figure wrk always prints (its first group); a clear error if it did not."""
    match = re.search(pattern, out)
    assert match is not None, f"no {pattern!r} in wrk's output"
    return match.group(1)


def _lua_strings(values: list[str]) -> str:
    return ",".join("'" + v + "'" for v in values)


def wrk(
    port: int,
    endpoint: str,
    names: list[str],
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
                "names": _lua_strings(names),
                "endpoint": endpoint,
                "etags": _lua_strings(etags),
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
        "req/s": _wrk_field(r"Requests/sec:\s+([\d.]+)", out),
        "p50": _wrk_field(r"\s50%\s+(\S+)", out),
        "p99": _wrk_field(r"\s99%\s+(\S+)", out),
        "requests": _wrk_field(r"(\d+) requests in", out),
    }
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non-2xx/3xx"] = non2xx.group(1) if non2xx else "0"
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket errors"] = errors.group(1).strip() if errors else "none"
    return result


def load_average() -> str:
    """`uptime`'s three load averages (1, 5, 15 minutes)."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"load average: (.*)$", out.strip())
    return match.group(1) if match else out.strip()


def milliseconds(latency: str) -> float:
    """wrk's latency text (850.00us, 3.21ms, 1.02s) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", latency)
    if match is None:
        raise ValueError(latency)
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def _descendants(pid: int) -> list[int]:
    pids = [pid]
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in children.read_text().split():
            pids.extend(_descendants(int(child)))
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by `pid` and its live descendants (granian's workers)."""
    total = 0
    for each in _descendants(pid):
        try:
            # Fields 14 and 15 (utime, stime), counted after the parenthesised command name.
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """The server under test on a free port, for one `with` block."""

    def __init__(self, args: argparse.Namespace, env: dict[str, str], fast_path: bool) -> None:
        self.port = free_port()
        self.command = server_command(args, self.port)
        self.env = {**env, "API_FAST_PATH": "1" if fast_path else "0"}
        self.probe = args.probe

    def __enter__(self) -> Server:
        # granian's access log (the Dockerfile turns it on) goes where a container's would
        # not be read during a benchmark.
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL
        )
        try:
            wait_for(self.port, self.probe)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def measured(
    server: Server,
    endpoint: str,
    names: list[str],
    etags: list[str],
    args: argparse.Namespace,
    cold: bool = False,
) -> dict[str, str]:
    """wrk's figures, plus the server's CPU time per answer (its processes' user + system time
    over the run, divided by the answers wrk counted): what the setup itself costs, far less
    sensitive than req/s to what else the shared machine runs."""
    before = cpu_seconds(server.process.pid)
    result = wrk(server.port, endpoint, names, etags, args, cold=cold)
    used = cpu_seconds(server.process.pid) - before
    result["server CPU/answer"] = f"{used / int(result['requests']) * 1000:.2f}ms"  # as wrk writes
    return result


def single(
    args: argparse.Namespace,
    env: dict[str, str],
    names: list[str],
    warm: list[str],
    tiers: dict[str, list[str]],
) -> None:
    """Cold, warm and 304 runs of each endpoint, on one server setup."""
    store = redis.Redis.from_url(args.redis)
    rows = []
    print(f"load average before the runs: {load_average()}")
    with Server(args, env, args.fast_path) as server:
        port = server.port
        for endpoint in args.endpoints:
            if endpoint != "recent":  # recent is one SQL statement: it has no cold cache
                store.flushdb()
                load = load_average()
                result = measured(server, endpoint, names, [], args, cold=True)
                # Every miss stores its answer: the answers in Redis are the misses served.
                misses = sum(1 for _ in store.scan_iter("pss-bench:api:*", count=1000))
                result["misses"] = str(misses)
                rows.append((endpoint, "cold (cache flushed, each package once)", load, result))
                print(rows[-1])
            # Warm: the warm set's answers are fetched (cached) first, and wrk picks among
            # them; the data set is still every package's points.
            fetched = fetch_all(port, [path(n, endpoint) for n in warm])
            load = load_average()
            result = measured(server, endpoint, warm, [], args)
            rows.append((endpoint, f"warm ({len(warm)} packages)", load, result))
            print(rows[-1])
            etags = [fetched[path(n, endpoint)].etag for n in warm]
            load = load_average()
            result = measured(server, endpoint, warm, etags, args)
            rows.append((endpoint, f"304 (If-None-Match, {len(warm)} packages)", load, result))
            print(rows[-1])
        shape = shape_table(port, tiers)
    print()
    print(f"load average after the runs: {load_average()}")
    print(describe(args))
    print()
    print("\n".join(shape))
    print()
    print(
        "| endpoint | cache | load average before | req/s | p50 | p99 | server CPU/answer "
        "| requests | non-2xx/3xx | socket errors | misses |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for endpoint, label, load, r in rows:
        print(
            f"| {endpoint} | {label} | {load} | {r['req/s']} | {r['p50']} | {r['p99']} | "
            f"{r['server CPU/answer']} | {r['requests']} | {r['non-2xx/3xx']} | "
            f"{r['socket errors']} | {r.get('misses', '0 (pre-fetched)')} |"
        )


@dataclass(frozen=True)
class Run:
    endpoint: str
    label: str
    names: list[str]
    not_modified: bool = False


def ab(
    args: argparse.Namespace,
    env: dict[str, str],
    names: list[str],
    warm: list[str],
    tiers: dict[str, list[str]],
) -> None:
    """Interleaved runs, fast path on then off: both servers run side by side (idle while the
    other is measured) and each run of one is followed at once by the same run of the other,
    so the drift of a noisy, shared machine falls on both alike."""
    warm_label = f"warm, {WARM_TIER if args.shape == 'realistic' else 'first'} ({len(warm):,})"
    runs = [Run(endpoint, warm_label, warm) for endpoint in ENDPOINTS]
    runs.append(Run("python_minor", f"304, {warm_label.removeprefix('warm, ')}", warm, True))
    runs.append(Run("python_minor", f"warm, every package ({len(names):,})", names))
    results: list[tuple[int, bool, Run, str, dict[str, str]]] = []
    with Server(args, env, True) as fast, Server(args, env, False) as django:
        # The first pass fills the cache; the second warms the other server's processes and
        # connections. ETags do not depend on the setup.
        fetched: dict[str, Fetched] = {}
        for server in (fast, django):
            for run in runs:
                fetched.update(fetch_all(server.port, [path(n, run.endpoint) for n in run.names]))
        shape = shape_table(fast.port, tiers)
        for round_ in range(1, args.ab_rounds + 1):
            for run in runs:
                etags = (
                    [fetched[path(n, run.endpoint)].etag for n in run.names]
                    if run.not_modified
                    else []
                )
                for fast_path, server in ((True, fast), (False, django)):
                    load = load_average()
                    result = measured(server, run.endpoint, run.names, etags, args)
                    results.append((round_, fast_path, run, load, result))
                    setup = "on" if fast_path else "off"
                    print(round_, setup, run.endpoint, run.label, load, result, flush=True)
    print()
    print(describe(args))
    print()
    print("\n".join(shape))
    print()
    print(
        "| round | fast path | endpoint | answers | load average before (1, 5, 15 min) | req/s "
        "| p50 | p99 | server CPU/answer | requests | non-2xx/3xx | socket errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for round_, fast_path, run, load, r in results:
        print(
            f"| {round_} | {'on' if fast_path else 'off'} | {run.endpoint} | {run.label} | "
            f"{load} | {r['req/s']} | {r['p50']} | {r['p99']} | {r['server CPU/answer']} | "
            f"{r['requests']} | {r['non-2xx/3xx']} | {r['socket errors']} |"
        )
    print()
    print(
        "| endpoint | answers | req/s on (median) | req/s off (median) | on/off of the medians "
        "| on/off per round | p99 on / off (medians) | server CPU/answer on / off (medians) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for run in runs:
        on = [r for _, f, x, _, r in results if x is run and f]
        off = [r for _, f, x, _, r in results if x is run and not f]
        rate_on = statistics.median(float(r["req/s"]) for r in on)
        rate_off = statistics.median(float(r["req/s"]) for r in off)
        per_round = ", ".join(
            f"{float(a['req/s']) / float(b['req/s']):.2f}" for a, b in zip(on, off, strict=True)
        )
        p99_on = statistics.median(milliseconds(r["p99"]) for r in on)
        p99_off = statistics.median(milliseconds(r["p99"]) for r in off)
        cpu_on = statistics.median(milliseconds(r["server CPU/answer"]) for r in on)
        cpu_off = statistics.median(milliseconds(r["server CPU/answer"]) for r in off)
        print(
            f"| {run.endpoint} | {run.label} | {rate_on:,.0f} | {rate_off:,.0f} | "
            f"{rate_on / rate_off:.2f} | {per_round} | {p99_on:.1f} / {p99_off:.1f} ms | "
            f"{cpu_on:.2f} / {cpu_off:.2f} ms |"
        )


def describe(args: argparse.Namespace) -> str:
    return (
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency "
        f"(cold: -d{args.cold_duration}s); {args.server}"
        f"{' (the Dockerfile CMD)' if args.server == 'granian' else ''}; "
        f"data: {args.shape} shape, database {args.db}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--shape", choices=["realistic", "uniform"], default="realistic")
    parser.add_argument(
        "--db",
        default=os.environ.get("BENCH_DB"),
        help="default: pss_bench_r (realistic), pss_bench_b (uniform)",
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/2")
    )
    parser.add_argument("--packages", type=int, default=10_000, help="uniform shape only")
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
    parser.add_argument(
        "--workers", type=int, default=None, help="server workers (default: the Dockerfile's)"
    )
    parser.add_argument(
        "--warm-packages",
        type=int,
        default=2_000,
        help="uniform shape: packages in the warm and 304 runs (realistic: the large tier)",
    )
    parser.add_argument(
        "--server",
        choices=["granian", "gunicorn-sync", "gunicorn-gthread"],
        default="granian",
        help="granian: the Dockerfile's CMD (WSGI, keep-alive); gunicorn-sync: the old setup",
    )
    parser.add_argument(
        "--blocking-threads",
        type=int,
        default=None,
        help="granian blocking threads (gunicorn-gthread: threads) per worker "
        "(default: the Dockerfile's; gunicorn 2)",
    )
    parser.add_argument(
        "--no-fast-path",
        dest="fast_path",
        action="store_false",
        help="API_FAST_PATH=0: every request through Django",
    )
    parser.add_argument(
        "--ab-rounds",
        type=int,
        default=0,
        help="interleaved rounds of warm runs with the fast path on, then off",
    )
    parser.add_argument("--endpoints", nargs="+", default=["overall", "python_minor"])
    parser.add_argument("--reload", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    args.db = args.db or {"realistic": "pss_bench_r", "uniform": "pss_bench_b"}[args.shape]

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
    load(args.pg, args.db, env, args.shape, args.packages, args.days, args.reload)
    names = package_names(args.shape, args.packages)
    tiers = tiers_of(args.shape, names)
    warm = tiers[WARM_TIER] if args.shape == "realistic" else names[: args.warm_packages]
    args.probe = names[0]
    if args.ab_rounds:
        ab(args, env, names, warm, tiers)
    else:
        single(args, env, names, warm, tiers)


if __name__ == "__main__":
    main()

"""Issue #17's figures with wrk: cached pages, and API answers with and without gzip.

Not a test. On the realistic data of bench/api_wrk.py (10,001 packages from tiny to `__all__`,
181 days; the `large-*` tier answers python_minor with 12 categories x 181 days, ~123 KB),
loaded by it into --db if needed, it starts the Dockerfile's granian command (2 workers) on
PostgreSQL + Redis, then for each case: fetches every URL of the case once (so the caches are
warm), records `uptime`'s load, and runs `wrk -t2 -c<N> -d<D>s --latency` picking URLs at random
among the case's set. Cases:
  page:package       /packages/large-NNNNN/           (--pages packages of the large tier)
  page:compare       /compare/?packages=large-a,large-b  (pairs of them)
  page:home          /                                 (every package tracked: 10,001 rows)
  page:watchlist     /watchlists/shared/<token>/       (a public list of 20 large packages)
  page:package-304   the package pages with their ETag in If-None-Match
  api:<endpoint>[+gzip]  warm answers of the large tier, plain or with Accept-Encoding: gzip
It prints one Markdown row per case: req/s, p50, p99, bytes on the wire per answer (wrk's
bytes read / requests: headers + body), the server's CPU per answer, errors and the load.

    .venv/bin/python bench/speed_wrk.py --db h3_bench --redis redis://127.0.0.1:6379/3
    .venv/bin/python bench/speed_wrk.py --cases page:package api:python_minor+gzip
    .venv/bin/python bench/speed_wrk.py --cases page:package page:compare --no-page-cache

Needs wrk (`apt-get install -y wrk`), PostgreSQL and Redis on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_wrk  # noqa: E402  (bench/ is not a package)

ALL_CASES = [
    "page:package",
    "page:package-304",
    "page:compare",
    "page:watchlist",
    "page:home",
    "api:overall",
    "api:overall+gzip",
    "api:python_minor",
    "api:python_minor+gzip",
    "api:system",
    "api:system+gzip",
    "api:recent",
]

LUA = """
math.randomseed(%(seed)d)
local paths = {%(paths)s}
local etags = {%(etags)s}
local n = #paths
local gzip = %(gzip)s
request = function()
  local i = math.random(1, n)
  local headers = {}
  if #etags > 0 then headers["If-None-Match"] = etags[i] end
  if gzip then headers["Accept-Encoding"] = "gzip" end
  return wrk.format("GET", paths[i], headers)
end
"""


def fetch(port: int, path: str, gzip: bool = False) -> tuple[int, str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"Accept-Encoding": "gzip"} if gzip else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, response.getheader("ETag") or "", len(body)


def warm(port: int, paths: list[str], gzip: bool = False) -> list[str]:
    """GET every path twice (the second from the warm caches); their ETags."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda p: fetch(port, p, gzip), paths))
        second = list(pool.map(lambda p: fetch(port, p, gzip), paths))
    bad = [(p, s) for p, (s, _, _) in zip(paths * 2, first + second, strict=True) if s != 200]
    assert not bad, bad[:3]
    return [etag for _, etag, _ in second]


def run_wrk(
    port: int, paths: list[str], etags: list[str], gzip: bool, args: argparse.Namespace
) -> dict[str, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(
            LUA
            % {
                "seed": 17,
                "paths": api_wrk._lua_strings(paths),
                "etags": api_wrk._lua_strings(etags),
                "gzip": "true" if gzip else "false",
            }
        )
        script = f.name
    cmd = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    cmd += ["--latency", "-s", script, f"http://127.0.0.1:{port}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    os.unlink(script)
    if args.verbose:
        print(out)
    requests = int(api_wrk._wrk_field(r"(\d+) requests in", out))
    read = api_wrk._wrk_field(r"requests in [\d.]+\w+, ([\d.]+\w+) read", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "req/s": api_wrk._wrk_field(r"Requests/sec:\s+([\d.]+)", out),
        "p50": api_wrk._wrk_field(r"\s50%\s+(\S+)", out),
        "p99": api_wrk._wrk_field(r"\s99%\s+(\S+)", out),
        "requests": str(requests),
        "bytes/answer": f"{_bytes(read) / requests:,.0f}",
        "non-2xx/3xx": non2xx.group(1) if non2xx else "0",
        "socket errors": errors.group(1).strip() if errors else "none",
    }


def _bytes(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(B|KB|MB|GB)", text)
    assert match is not None, text
    return float(match.group(1)) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[match[2]]


def public_watchlist(pg: str, db: str, names: list[str]) -> str:
    """A public list of `names` owned by a bench user (created once); its token."""
    token = "bench-public-list"
    with psycopg.connect(f"{pg}/{db}", autocommit=True) as conn:
        if conn.execute(
            "SELECT 1 FROM watchlists_watchlist WHERE public_token = %s", [token]
        ).fetchone():
            return token
        user = conn.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name,"
            " email, is_staff, is_active, date_joined) VALUES ('!', false, %s, '', '', '',"
            " false, true, now()) RETURNING id",
            [f"bench-{secrets.token_hex(3)}"],
        ).fetchone()
        assert user is not None
        row = conn.execute(
            "INSERT INTO watchlists_watchlist (uid, name, owner_user_id, visibility,"
            " public_token, created_by_id, created_at, updated_at) VALUES"
            " (gen_random_uuid(), 'Bench list', %s, 'public', %s, %s, now(), now()) RETURNING id",
            [user[0], token, user[0]],
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO watchlists_watchlistentry (watchlist_id, package_id, note, added_at)"
            " SELECT %s, id, '', now() FROM packages_app_package WHERE name = ANY(%s)",
            [row[0], names],
        )
    return token


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="h3_bench")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--cases", nargs="+", default=ALL_CASES, choices=ALL_CASES)
    parser.add_argument("--pages", type=int, default=50, help="large packages in page cases")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--no-page-cache", dest="page_cache", action="store_false", help="PAGE_CACHE=0"
    )
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    # What api_wrk.Server reads from its args: the Dockerfile's granian as it is.
    args.server, args.workers, args.blocking_threads = "granian", None, None
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg}/{args.db}",
        "REDIS_URL": args.redis,
        "DEBUG": "0",
        "HTTPS": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_KEY_PREFIX": "pss-speed-bench",
        "LOG_LEVEL": "WARNING",
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
        "CLICKHOUSE_URL": "",
        "PAGE_CACHE": "1" if args.page_cache else "0",
    }
    api_wrk.load(args.pg, args.db, env, "realistic", 0, 181, False)
    names = api_wrk.package_names("realistic", 0)
    large = api_wrk.tiers_of("realistic", names)["large"]
    args.probe = large[0]
    pages = large[: args.pages]
    token = public_watchlist(args.pg, args.db, large[:20])
    rows = []
    print(f"load average before the runs: {api_wrk.load_average()}")
    with api_wrk.Server(args, env, True) as server:
        for case in args.cases:
            kind, _, what = case.partition(":")
            gzip = what.endswith("+gzip")
            what = what.removesuffix("+gzip")
            etags: list[str] = []
            if what in ("package", "package-304"):
                paths = [f"/packages/{n}/" for n in pages]
            elif what == "compare":
                paths = [
                    f"/compare/?packages={a},{b}" for a, b in zip(pages, pages[1:], strict=False)
                ]
            elif what == "watchlist":
                paths = [f"/watchlists/shared/{token}/"]
            elif what == "home":
                paths = ["/"]
            else:
                paths = [api_wrk.path(n, what) for n in large]
            tags = warm(server.port, paths, gzip)
            if what == "package-304":
                etags = tags
            load = api_wrk.load_average()
            before = api_wrk.cpu_seconds(server.process.pid)
            result = run_wrk(server.port, paths, etags, gzip, args)
            used = api_wrk.cpu_seconds(server.process.pid) - before
            result["server CPU/answer"] = f"{used / int(result['requests']) * 1000:.2f}ms"
            rows.append((case, len(paths), load, result))
            print(rows[-1], flush=True)
    print(f"load average after the runs: {api_wrk.load_average()}")
    print()
    print(
        "| case | URLs | load before (1/5/15 min) | req/s | p50 | p99 | bytes/answer on the wire "
        "| server CPU/answer | requests | non-2xx/3xx | socket errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case, count, load, r in rows:
        print(
            f"| {case} | {count} | {load} | {r['req/s']} | {r['p50']} | {r['p99']} | "
            f"{r['bytes/answer']} | {r['server CPU/answer']} | {r['requests']} | "
            f"{r['non-2xx/3xx']} | {r['socket errors']} |"
        )


if __name__ == "__main__":
    main()

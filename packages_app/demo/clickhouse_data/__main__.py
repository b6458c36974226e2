"""`python -m packages_app.demo.clickhouse_data [--latest D] [NAME…]`: build, measure, report.

Builds the stand-in's data from scratch in a temporary directory (no cache) and prints the
build time, the rows of every table and the load average before and after, the numbers
docs/benchmarks.md records. Without names it builds the demo's preloaded packages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time

from packages_app.demo.clickhouse import DEMO_PACKAGES
from packages_app.demo.clickhouse_data.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m packages_app.demo.clickhouse_data")
    parser.add_argument("names", nargs="*", default=list(DEMO_PACKAGES))
    parser.add_argument(
        "--latest",
        type=dt.date.fromisoformat,
        default=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1),
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.perf_counter()
    engine = Engine.shared(packages=args.names, latest=args.latest, owner=parser, cache_dir=None)
    seconds = time.perf_counter() - started
    load_after = os.getloadavg()
    build = engine.last_build
    rows = engine.table_rows()
    print(f"packages: {', '.join(args.names)}; latest day {args.latest}")
    print(
        f"built {build.rows:,} rows for {build.days:,} package-days in {build.seconds:.1f} s"
        f" ({seconds:.1f} s with the engine's start and the schema)"
    )
    print(
        "load average before: {:.2f} {:.2f} {:.2f}; after: {:.2f} {:.2f} {:.2f}".format(
            *load_before, *load_after
        )
    )
    for table, count in rows.items():
        print(f"  {table:<68} {count:>12,}")
    print(f"  {'total':<68} {sum(rows.values()):>12,}")


if __name__ == "__main__":
    main()

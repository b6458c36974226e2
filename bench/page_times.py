"""Server time of the package page for a package with two years of history.

Not a test: it measures. It drives the whole Django stack in-process (middleware,
view, selectors, template, CSP) with the test client, against the database and
cache the environment configures, and reports the median and p90 over N requests:

- warm: the chart payload and the 30-day facts are in the cache (the common case);
- cold: before each request the package's data_version is bumped, as a refresh
  that commits a change does, so every cached payload of it is unreachable and the
  page reads the points again (the bump happens outside the timed section).

Usage (PostgreSQL + Redis, as recorded in docs/benchmarks.md):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pss_c REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/page_times.py --requests 50

The first run loads the package (2 years x 18 categories of daily points) into the
configured database under the name `bench-two-years`; later runs reuse it. The
database must be migrated (`manage.py migrate`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")
# The page renders {% static %}; without collectstatic, use the plain storage.
os.environ.setdefault("STATIC_MANIFEST", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from packages_app.models import Category, Metric, Package  # noqa: E402
from packages_app.store import points  # noqa: E402

NAME = "bench-two-years"
WEIGHTS: dict[Metric, dict[str, int]] = {
    Metric.OVERALL: {"with_mirrors": 12, "without_mirrors": 10},
    Metric.PYTHON_MAJOR: {"3": 9, "2": 1, "null": 1},
    Metric.PYTHON_MINOR: {
        "2.7": 1,
        "3.7": 1,
        "3.8": 1,
        "3.9": 2,
        "3.10": 2,
        "3.11": 2,
        "3.12": 3,
        "3.13": 1,
        "null": 1,
    },  # fmt: skip
    Metric.SYSTEM: {"Linux": 6, "Windows": 2, "Darwin": 1, "other": 1, "null": 1},
}


def ensure_package(days: int) -> Package:
    latest = dt.date.today() - dt.timedelta(days=1)
    first = latest - dt.timedelta(days=days - 1)
    package = Package.objects.filter(name=NAME).first()
    if package is not None and package.first_date == first and package.latest_date == latest:
        return package
    Package.objects.filter(name=NAME).delete()
    package = Package.objects.create(
        name=NAME, first_date=first, latest_date=latest, upstream_state="ok"
    )
    rows = []
    for metric, weights in WEIGHTS.items():
        for name, weight in weights.items():
            category, _ = Category.objects.get_or_create(metric=metric, name=name)
            for i in range(days):
                day = first + dt.timedelta(days=i)
                value = 1000 * weight + (i * 7919) % 97
                rows.append((category.pk, day, value))
    points.put(package.pk, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Index-only scans need a current visibility map.
            cursor.execute("VACUUM ANALYZE packages_app_downloadmonth")
    print(f"loaded {len(rows):,} points for {NAME} ({first} .. {latest})")
    return package


def measure(
    client: Client, url: str, n: int, *, cold: bool, package: Package
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of each request (CPU time of this process only:
    on a shared, loaded machine it shows the work the request itself does; the database
    and Redis round trips are in the wall time only)."""
    wall, cpu = [], []
    for _ in range(n):
        if cold:
            Package.objects.filter(pk=package.pk).update(data_version=F("data_version") + 1)
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()

    package = ensure_package(args.days)
    client = Client()
    urls = [
        f"/packages/{NAME}/",  # default: 180 days, daily
        f"/packages/{NAME}/?range=all",  # two years, daily
        f"/packages/{NAME}/?range=all&agg=week",
        f"/packages/{NAME}/?range=365&smooth=7",
    ]
    print(
        f"database: {connection.vendor}; cache: {django.conf.settings.CACHES['default']['BACKEND']}"
    )
    Package.objects.filter(pk=package.pk).update(data_version=F("data_version") + 1)
    with CaptureQueriesContext(connection) as queries:
        client.get(urls[0], secure=True)
    print(f"queries per cold request of the default page: {len(queries.captured_queries)}")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    print(f"{'page':45} {'cache':5} {'median ms':>10} {'p90 ms':>8} {'median CPU ms':>14}")
    for url in urls:
        client.get(url, secure=True)  # compile templates, warm connections
        for cold in (False, True):
            wall, cpu = measure(client, url, args.requests, cold=cold, package=package)
            p90 = statistics.quantiles(wall, n=10)[-1]
            label = "cold" if cold else "warm"
            print(
                f"{url:45} {label:5} {statistics.median(wall):10.1f} {p90:8.1f}"
                f" {statistics.median(cpu):14.1f}"
            )


if __name__ == "__main__":
    main()

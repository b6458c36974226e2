"""Benchmark (not a test): server time of a 10-package comparison over two years.

Loads 10 packages plus `__all__`, each with 730 days in every category of the four
metrics (about 200,000 points), into the database DATABASE_URL points at, then
times GET /compare/?packages=…&range=all (weekly, the default) through Django's whole
stack (middleware, view, template) in process, `--requests` times each:

- warm: the payload is in the cache (the usual case: data changes once a day);
- cold: the cache is cleared before every request, so every request reads the
  points (one query) and recomputes the payload;
- cold, daily + 7-day average + share of all PyPI: the heaviest combination.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pss_e REDIS_URL=redis://127.0.0.1:6379/5 \\
        HTTPS=0 .venv/bin/python bench/compare_times.py

The bench packages are named bench-cmp-N; `--keep` leaves them, else they are removed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")
os.environ.setdefault("HTTPS", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from packages_app.models import Category, DownloadMonth, Metric, Package  # noqa: E402
from packages_app.names import ALL_PACKAGES  # noqa: E402
from packages_app.store import points  # noqa: E402

DAYS = 730
NAMES = [f"bench-cmp-{i}" for i in range(10)]
CATEGORIES: dict[Metric, list[str]] = {
    Metric.OVERALL: ["with_mirrors", "without_mirrors"],
    Metric.PYTHON_MAJOR: ["2", "3", "null"],
    Metric.PYTHON_MINOR: ["2.7", *(f"3.{m}" for m in range(6, 15)), "null"],
    Metric.SYSTEM: ["Darwin", "Linux", "Windows", "other", "null"],
}


def load(latest: dt.date) -> None:
    """(Re)create the bench packages and __all__'s two years of points."""
    with transaction.atomic():
        Package.objects.filter(name__in=NAMES).delete()
        all_pypi, _ = Package.objects.get_or_create(name=ALL_PACKAGES)
        DownloadMonth.objects.filter(package=all_pypi).delete()
        categories = [
            Category.objects.get_or_create(metric=metric, name=name)[0]
            for metric, names in CATEGORIES.items()
            for name in names
        ]
        first = latest - dt.timedelta(days=DAYS - 1)
        packages = [
            Package.objects.create(
                name=name, first_date=first, latest_date=latest, upstream_state="ok"
            )
            for name in NAMES
        ]
        all_pypi.first_date, all_pypi.latest_date, all_pypi.upstream_state = first, latest, "ok"
        all_pypi.save()
        for index, package in enumerate([*packages, all_pypi]):
            scale = 1_000_000 if package.name == ALL_PACKAGES else 1000 * (index + 1)
            points.put(
                package.pk,
                (
                    (
                        category.pk,
                        first + dt.timedelta(days=day),
                        scale + (day * 37 + category.pk * 11) % 997,
                    )
                    for category in categories
                    for day in range(DAYS)
                ),
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE packages_app_downloadmonth")


def timed(client: Client, url: str, n: int, *, cold: bool) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds per request. On a shared, loaded
    machine the CPU time is the steadier number (it leaves out time spent waiting for
    a core, and the database's own work, which is one index-only scan)."""
    wall, cpu = [], []
    for _ in range(n):
        if cold:
            cache.clear()
        start, start_cpu = time.perf_counter(), time.thread_time()
        response = client.get(url)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (response.status_code, url)
    return wall, cpu


def report(label: str, measured: tuple[list[float], list[float]]) -> str:
    wall, cpu = sorted(measured[0]), sorted(measured[1])
    p90 = wall[int(len(wall) * 0.9) - 1]
    return (
        f"| {label} | {len(wall)} | {statistics.median(wall):.1f} | {p90:.1f} | "
        f"{statistics.median(cpu):.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="leave the bench packages in place")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    latest = dt.date.today() - dt.timedelta(days=1)
    load(latest)
    client = Client()
    names = ",".join(NAMES)
    base = f"/compare/?packages={names}&range=all"
    heavy = f"/compare/?packages={names}&range=all&agg=day&smooth=7&mode=share_pypi"
    engine = connection.vendor
    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    print(f"database: {engine}, cache: {cache_backend}, {DAYS} days x 10 packages + __all__")
    held = sum(
        points.count(pk)
        for pk in Package.objects.filter(name__in=[*NAMES, ALL_PACKAGES]).values_list(
            "pk", flat=True
        )
    )
    print(f"points loaded: {held}")
    load_before = os.getloadavg()[0]
    timed(client, base, 5, cold=True)  # warm up the process, connections and plans
    results = [
        report("weekly, range=all, warm cache", timed(client, base, args.requests, cold=False)),
        report("weekly, range=all, cold cache", timed(client, base, args.requests, cold=True)),
        report(
            "daily + 7-day avg + share_pypi, cold cache",
            timed(client, heavy, args.requests, cold=True),
        ),
    ]
    print(
        f"load average: {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, {os.cpu_count()} CPUs"
    )
    print("| case | requests | median ms (wall) | p90 ms (wall) | median ms (CPU) |")
    print("|---|---|---|---|---|")
    print("\n".join(results))
    if not args.keep:
        Package.objects.filter(name__in=NAMES).delete()
        DownloadMonth.objects.filter(package__name=ALL_PACKAGES).delete()
        Package.objects.filter(name=ALL_PACKAGES).update(
            first_date=None, latest_date=None, upstream_state="new"
        )


if __name__ == "__main__":
    main()

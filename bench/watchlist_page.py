"""Server time of the watchlist page and the dashboard, by list size.

Builds a throwaway test database (test_<name> of DATABASE_URL, or in-memory SQLite),
fills lists of 20, 50 and 200 packages with 400 days of points each, and times the
page through Django's test client (no network): median and p95 of 30 requests.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pss_d .venv/bin/python bench/watchlist_page.py
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

SIZES = (20, 50, 200)
DAYS = 400
RUNS = 30


def main() -> None:
    setup_test_environment()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SECURE_SSL_REDIRECT = False
    settings.WATCHLIST_MAX_PACKAGES = max(SIZES)
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run() -> None:
    from django.contrib.auth import get_user_model

    from packages_app.models import Category, Metric, Package
    from packages_app.store import points
    from watchlists.models import Watchlist, WatchlistEntry

    user = get_user_model().objects.create_user("bench", "bench@example.org", "x" * 12)
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    end = dt.date(2026, 11, 22)
    packages = Package.objects.bulk_create(
        Package(name=f"bench-{i:03d}", latest_date=end, first_date=end - dt.timedelta(days=DAYS))
        for i in range(max(SIZES))
    )
    for package in packages:
        points.put(
            package.pk,
            (
                (category.pk, end - dt.timedelta(days=d), 1000 + (d * 37 + package.pk) % 500)
                for d in range(DAYS)
            ),
        )
    client = Client()
    client.force_login(user)
    print(f"database: {connection.vendor}, {DAYS} days per package, {RUNS} requests each")
    print(f"{'page':<22} {'queries':>7} {'median ms':>10} {'p95 ms':>8}")
    for size in SIZES:
        watchlist = Watchlist.objects.create(name=f"{size}", owner_user=user)
        WatchlistEntry.objects.bulk_create(
            WatchlistEntry(watchlist=watchlist, package=p) for p in packages[:size]
        )
        report(client, f"watchlist {size} pkgs", f"/watchlists/{watchlist.uid}/")
    report(client, "dashboard (3 lists)", "/dashboard/")


def report(client: Client, label: str, url: str) -> None:
    client.get(url)  # warm caches (templates, "data as of")
    queries: list[str] = []

    def count(
        execute: Callable[[str, object, bool, dict[str, object]], object],
        sql: str,
        params: object,
        many: bool,
        context: dict[str, object],
    ) -> object:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        assert client.get(url).status_code == 200
    if os.environ.get("PROFILE") and "200" in label:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(client.get, url)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"{label:<22} {len(queries):>7} {statistics.median(times):>10.1f} {p95:>8.1f}")


if __name__ == "__main__":
    main()

"""Benchmark: suspect-day detection (packages_app/quality.py) cold and warm.

Builds, in a throwaway test database (test_<your database>), 100 tracked packages plus
__all__ with three years of daily points each, then times detected_between() over the
three years with an empty cache (what the first chart of the day pays) and warm.

    DATABASE_URL=postgres://... .venv/bin/python bench/quality_detection.py
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pypistats_site.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, setup_test_environment, teardown_databases  # noqa: E402

PACKAGES = 100
START = dt.date(2023, 11, 1)
END = dt.date(2026, 10, 31)


def build() -> None:
    from packages_app.models import Category, Metric, Package
    from packages_app.store import points

    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    days = (END - START).days + 1
    for i in range(PACKAGES + 1):
        name = "__all__" if i == PACKAGES else f"bench-{i}"
        package = Package.objects.create(name=name, first_date=START, latest_date=END)
        base = 10**9 if i == PACKAGES else 1000 * (i + 1)
        points.put(
            package.pk,
            (
                (
                    category.pk,
                    START + dt.timedelta(days=d),
                    base if (START + dt.timedelta(days=d)).weekday() < 5 else base // 2,
                )
                for d in range(days)
            ),
        )


def main() -> None:
    from packages_app.sync import quality

    setup_test_environment()
    config = setup_databases(verbosity=0, interactive=False)
    try:
        build()
        cold, warm = [], []
        for _ in range(3):
            cache.clear()
            t = time.perf_counter()
            quality.detected_between(START, END)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            quality.detected_between(END - dt.timedelta(days=89), END)
            warm.append(time.perf_counter() - t)
        print(f"database: {connection.vendor}; {PACKAGES} packages + __all__, {START}..{END}")
        print(
            f"cold, 3 years (4 calendar years detected): median {statistics.median(cold) * 1000:.0f} ms"
        )
        print(f"warm, 90 days: median {statistics.median(warm) * 1000:.1f} ms")
    finally:
        teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()

"""Test data for the page tests: packages with deterministic daily series in every metric."""

from __future__ import annotations

import datetime as dt
from typing import Any

from packages_app.models import Category, Metric, Package, RecentDownloads
from packages_app.store import points
from tests.stored_points import Point, store

CATEGORIES: dict[Metric, dict[str, int]] = {
    # category -> weight (downloads per day = base * weight, before the day's wobble)
    Metric.OVERALL: {"with_mirrors": 12, "without_mirrors": 10},
    Metric.PYTHON_MAJOR: {"3": 9, "2": 1},
    Metric.PYTHON_MINOR: {"3.8": 1, "3.9": 2, "3.10": 2, "3.11": 2, "3.12": 2, "2.7": 1},
    Metric.SYSTEM: {"Linux": 6, "Windows": 2, "Darwin": 1, "other": 1},
}


def value(base: int, weight: int, day: dt.date) -> int:
    """Deterministic, weekday-shaped values (weekends lower), never negative."""
    wobble = (day.toordinal() * 7919) % 13
    weekend = 0.6 if day.weekday() >= 5 else 1.0
    return int(base * weight * weekend) + wobble


def make_package(
    name: str,
    *,
    first: dt.date | None,
    latest: dt.date | None,
    base: int = 100,
    tracked: bool = True,
    recent: tuple[int | None, int | None, int | None] | None = None,
    categories: dict[Metric, dict[str, int]] | None = None,
    **fields: Any,
) -> Package:
    package = Package.objects.create(
        name=name,
        tracked=tracked,
        first_date=first,
        latest_date=latest,
        upstream_state=fields.pop("upstream_state", "ok" if first else "new"),
        **fields,
    )
    if first is not None and latest is not None:
        points = []
        for metric, weights in (categories or CATEGORIES).items():
            for category_name, weight in weights.items():
                category, _ = Category.objects.get_or_create(metric=metric, name=category_name)
                day = first
                while day <= latest:
                    points.append(
                        Point(
                            package=package,
                            category=category,
                            date=day,
                            downloads=value(base, weight, day),
                        )
                    )
                    day += dt.timedelta(days=1)
        store(points)
    if recent is not None:
        RecentDownloads.objects.create(
            package=package, last_day=recent[0], last_week=recent[1], last_month=recent[2]
        )
    return package


def daily_without_mirrors(package: Package) -> dict[dt.date, int]:
    return points.by_package(
        package_ids=[package.pk], metric=Metric.OVERALL, category="without_mirrors"
    )[package.pk]

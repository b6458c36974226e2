"""Seeding and inspecting stored points in tests, through packages_app.store.points.

Points are stored a month per row (models.DownloadMonth); tests think in points,
so they build `Point`s and read plain (category_id, date, downloads) back.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import NamedTuple

from django.db.models import Sum

from packages_app.models import Category, DownloadMonth, Package
from packages_app.store import points


class Point(NamedTuple):
    package: Package
    category: Category
    date: dt.date
    downloads: int


def store(rows: Iterable[Point]) -> None:
    """Store the points (overwriting any held for the same days), a package at a time."""
    by_package: dict[int, list[tuple[int, dt.date, int]]] = defaultdict(list)
    for row in rows:
        by_package[row.package.pk].append((row.category.pk, row.date, row.downloads))
    points.put_many(by_package)


def held(package: Package) -> set[tuple[int, dt.date, int]]:
    """Every point the package holds, as (category_id, date, downloads)."""
    return {
        (category_id, date, downloads)
        for (category_id, month), values in points.load(
            package.pk, dt.date.min, dt.date.max
        ).items()
        for date, downloads in _days(month, values)
    }


def count(package: Package | None = None) -> int:
    """Points held by the package, or by every package."""
    if package is not None:
        return points.count(package.pk)
    return int(DownloadMonth.objects.aggregate(n=Sum("held"))["n"] or 0)


def overwrite_all(package: Package, downloads: int) -> None:
    """Give every point the package holds the same value (what a refresh could write)."""
    points.put(package.pk, [(c, d, downloads) for c, d, _ in held(package)])


def forget(package: Package, date: dt.date) -> None:
    """Drop one day from every category of the package, as if it had never been fetched."""
    month = points.month_of(date)
    months = points.load(package.pk, month, month)
    for values in months.values():
        values[date.day - 1] = points.MISSING
    points.save(package.pk, months)


def months_held(package: Package) -> int:
    return DownloadMonth.objects.filter(package=package).count()


def _days(month: dt.date, values: list[int]) -> Iterable[tuple[dt.date, int]]:
    for index, value in enumerate(values):
        if value != points.MISSING:
            yield month.replace(day=index + 1), value

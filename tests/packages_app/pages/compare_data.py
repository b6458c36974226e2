"""Data for the compare tests: packages holding overall/without_mirrors (and more) series."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from packages_app.models import Category, Metric, Package, UpstreamState
from packages_app.names import ALL_PACKAGES
from tests.stored_points import Point, store

LATEST = dt.date(2026, 11, 22)  # a Sunday


def put_series(
    name: str,
    values: Callable[[dt.date], int] | Sequence[int],
    *,
    days: int | None = None,
    latest: dt.date = LATEST,
    metric: Metric = Metric.OVERALL,
    category: str = "without_mirrors",
    tracked: bool = True,
) -> Package:
    """Create (or extend) a package holding one series ending at `latest`.

    `values` is a list (oldest first) or a function of the date with `days` days.
    """
    if callable(values):
        assert days is not None
        dated = [
            (
                latest - dt.timedelta(days=days - 1 - i),
                values(latest - dt.timedelta(days=days - 1 - i)),
            )
            for i in range(days)
        ]
    else:
        dated = [(latest - dt.timedelta(days=len(values) - 1 - i), v) for i, v in enumerate(values)]
    package, _ = Package.objects.get_or_create(name=name, defaults={"tracked": tracked})
    cat, _ = Category.objects.get_or_create(metric=metric, name=category)
    store(Point(package, cat, d, v) for d, v in dated)
    first = dated[0][0]
    package.first_date = min(first, package.first_date or first)
    package.latest_date = max(latest, package.latest_date or latest)
    package.upstream_state = UpstreamState.OK
    package.tracked = tracked
    package.data_version += 1
    package.save()
    return package


def all_pypi(values: Callable[[dt.date], int], days: int, **kwargs: object) -> Package:
    return put_series(ALL_PACKAGES, values, days=days, **kwargs)  # type: ignore[arg-type]

"""Reads of packages and their series. Views and the API read through here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from . import points, soft_cache
from .models import DownloadMonth, Metric, Package, RefreshRun, UpstreamState
from .names import ALL_PACKAGES
from .series import last_complete_week, percent_change


def site_data_as_of() -> dt.date | None:
    """The newest upstream date held for any tracked package ("data as of" in the footer)."""
    key = "site:data-as-of"
    cached = soft_cache.get(key)
    if cached is not None:
        return cached or None
    value = Package.objects.tracked().aggregate(latest=Max("latest_date"))["latest"]
    soft_cache.set(key, value or "", 60)
    return value


def last_successful_refresh() -> RefreshRun | None:
    return (
        RefreshRun.objects.filter(status=RefreshRun.Status.OK)
        .only("finished_at", "package_id")
        .order_by("-finished_at")
        .first()
    )


def tracked_packages() -> list[Package]:
    return list(Package.objects.tracked().order_by("name"))


# --- Series reads (package and compare pages, exports, badges) -----------------------

# {metric: {category name as upstream spells it: {date: downloads}}}
SeriesByMetric = dict[Metric, dict[str, dict[dt.date, int]]]


def package_for_page(name: str) -> Package | None:
    """The package by canonical name, with its `recent` row, in one query."""
    return Package.objects.select_related("recent").filter(name=name).first()


def package_series(
    *,
    package_id: int,
    metrics: Iterable[Metric],
    start: dt.date,
    end: dt.date,
) -> SeriesByMetric:
    """Daily points of one package for some metrics and dates, in ONE query.

    On PostgreSQL an index-only scan of the months' covering primary key
    (points.read). Plain data out.
    """
    wanted = list(metrics)
    result: SeriesByMetric = {metric: {} for metric in wanted}
    by_value = {int(metric): result[metric] for metric in wanted}
    # Rows arrive category by category: look the series up once per run of rows.
    current_key: tuple[int, str] | None = None
    series: dict[dt.date, int] = {}
    for _, metric_value, category, date, downloads in points.read(
        package_ids=[package_id], metrics=by_value, start=start, end=end
    ):
        if (metric_value, category) != current_key:
            current_key = (metric_value, category)
            series = by_value[metric_value].setdefault(category, {})
        series[date] = downloads
    return result


def metric_series(
    *, package_id: int, metric: Metric, start: dt.date, end: dt.date
) -> dict[str, dict[dt.date, int]]:
    """One package's series of one metric in a window: {category: {date: downloads}}."""
    return package_series(package_id=package_id, metrics=[metric], start=start, end=end)[metric]


def total_without_mirrors(package_id: int) -> int:
    """Every mirror-free download held for the package (the "total" badge)."""
    held = points.by_package(
        package_ids=[package_id], metric=Metric.OVERALL, category="without_mirrors"
    )
    return sum(held[package_id].values())


def data_status(package: Package | None) -> dict[str, Any]:
    """Where a package without data stands, for the polled progress fragment of the
    package and compare pages; `done` stops the polling."""
    if package is None:
        return {"state": "untracked", "done": True}
    if package.has_data:
        return {"state": "ready", "done": True}
    if not package.tracked:
        return {"state": "untracked", "done": True}
    if package.upstream_state == UpstreamState.NOT_FOUND:
        return {"state": "not_found", "done": True}
    if package.upstream_state == UpstreamState.FAILING:
        return {"state": "failing", "done": True}
    if package.upstream_state == UpstreamState.OK:
        # Upstream answered but holds no downloads for it yet.
        return {"state": "empty", "done": True}
    return {"state": "waiting", "done": False}


def packages_started_by_user_today(user: Any) -> int:
    """How many packages `user` started tracking since midnight UTC (the daily limit)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return Package.objects.filter(added_by=user, created_at__gte=midnight).count()


def tracked_packages_with_recent() -> list[Package]:
    """Tracked packages with their `recent` row (last week's downloads), one query."""
    return list(Package.objects.tracked().select_related("recent").order_by("name"))


@dataclass(frozen=True)
class Mover:
    name: str
    last_week: int
    previous_week: int
    change: int
    change_pct: float | None


@dataclass(frozen=True)
class Movers:
    week_start: dt.date  # Monday of the last complete ISO week
    week_end: dt.date
    by_change: list[Mover]  # largest absolute change first (gains and losses)
    by_pct: list[Mover]  # largest relative change first; needs a base week


def weekly_movers(*, as_of: dt.date | None = None, limit: int = 10) -> Movers | None:
    """The week's biggest movers, over COMPLETE ISO weeks only, in one query (of the months).

    The last complete week is the latest Monday..Sunday that ends on or before both
    yesterday (upstream's newest possible day) and the newest date held. It is
    compared with the week before, from the stored without_mirrors points; a package
    counts only when it holds both whole weeks (first_date/latest_date cover them),
    so a package whose refresh is late is not shown as collapsing. `__all__` is left
    out: it is PyPI itself, not a mover.
    """
    today = timezone.now().date()
    anchor = today - dt.timedelta(days=1)
    if as_of is not None:
        anchor = min(anchor, as_of)
    week_start, week_end = last_complete_week(anchor)
    prev_start = week_start - dt.timedelta(days=7)
    months = (
        DownloadMonth.objects.filter(
            package__tracked=True,
            package__first_date__lte=prev_start,
            package__latest_date__gte=week_end,
            category__metric=Metric.OVERALL,
            category__name="without_mirrors",
            month__gte=points.month_of(prev_start),
            month__lte=week_end,
        )
        .exclude(package__name=ALL_PACKAGES)
        .values_list("package__name", "month", "days")
    )
    sums: dict[str, list[int]] = {}
    for name, month, blob in months:
        last_previous = sums.setdefault(name, [0, 0])
        for day, downloads in points.month_points(month, blob, prev_start, week_end):
            last_previous[0 if day >= week_start else 1] += downloads
    rows = [(name, last, previous) for name, (last, previous) in sums.items()]
    movers = [
        Mover(
            name=name,
            last_week=int(last),
            previous_week=int(previous),
            change=int(last) - int(previous),
            change_pct=percent_change(previous, last),
        )
        for name, last, previous in rows
    ]
    if not movers:
        return Movers(week_start, week_end, [], [])
    by_change = sorted(movers, key=lambda m: (-abs(m.change), m.name))[:limit]
    by_pct = sorted(
        (m for m in movers if m.change_pct is not None),
        key=lambda m: (-abs(m.change_pct or 0.0), m.name),
    )[:limit]
    return Movers(week_start, week_end, by_change, by_pct)


def daily_cutoff(now: dt.datetime) -> dt.datetime:
    """Upstream's ETL for yesterday starts at 01:00 UTC: a refresh before that is stale."""
    return now.astimezone(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)


def packages_due_daily(now: dt.datetime) -> QuerySet[Package]:
    """Active packages not refreshed since upstream's latest day whose next attempt has passed."""
    return Package.objects.active().filter(
        Q(last_refreshed_at__isnull=True) | Q(last_refreshed_at__lt=daily_cutoff(now)),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )


def packages_due_soon(now: dt.datetime) -> QuerySet[Package]:
    """New packages, failing ones whose backoff passed, and deferred ones whose time came."""
    return Package.objects.active().filter(
        Q(upstream_state__in=[UpstreamState.NEW, UpstreamState.FAILING])
        | Q(next_attempt_at__isnull=False),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )


def packages_due(now: dt.datetime) -> QuerySet[Package]:
    """Everything a sweep would refresh now (the `refresh` command with no names)."""
    return (packages_due_daily(now) | packages_due_soon(now)).distinct()

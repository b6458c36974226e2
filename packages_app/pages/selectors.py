"""Reads behind the pages: a package for its page and its data status, the home page's
tracked packages and movers, and the site's "data as of"."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Max
from django.utils import timezone

from packages_app import soft_cache
from packages_app.history import selectors as history
from packages_app.models import DownloadMonth, Metric, Package, Source, UpstreamState
from packages_app.names import ALL_PACKAGES
from packages_app.series import last_complete_week, percent_change
from packages_app.store import points


def site_data_as_of() -> dt.date | None:
    """The newest upstream date held for any tracked package ("data as of" in the footer)."""
    key = "site:data-as-of"
    cached = soft_cache.get(key)
    if isinstance(cached, dt.date):
        return cached
    if cached == "":  # cached: no data held anywhere
        return None
    value: dt.date | None = Package.objects.tracked().aggregate(latest=Max("latest_date"))["latest"]
    soft_cache.set(key, value or "", 60)
    return value


@dataclass(frozen=True, slots=True)
class PageState:
    """A package's row with its `recent` and ClickHouse `history` rows, as the database holds
    them: what the page cache keys a package's pages by (packages_app/page_cache.py)."""

    row: tuple[Any, ...]  # every column of package, recent, history (None where no row)
    tracked: bool
    has_data: bool
    last_refreshed_at: dt.datetime | None


@functools.lru_cache(maxsize=16)
def _page_states_sql(count: int) -> str:
    """package_for_page's query for `count` names, compiled by the ORM once per process: a
    cached page's request pays for one query, not for building it (~1 ms of CPU)."""
    placeholders = [f"name-{i}" for i in range(count)]
    query = Package.objects.select_related("recent", "history").filter(name__in=placeholders)
    sql, params = query.query.sql_with_params()
    assert list(params) == placeholders, params  # the names are the only parameters
    return sql


@functools.cache
def _package_columns() -> tuple[int, int, int, int]:
    """Where name, tracked, latest_date and last_refreshed_at are in a _page_states_sql row."""
    names = [f.attname for f in Package._meta.concrete_fields]
    return (
        names.index("name"),
        names.index("tracked"),
        names.index("latest_date"),
        names.index("last_refreshed_at"),
    )


def page_states(names: list[str]) -> dict[str, PageState]:
    """The rows behind the pages of `names` (those held), in one query."""
    if not names:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_page_states_sql(len(names)), names)
        rows = cursor.fetchall()
    name, tracked, latest, refreshed = _package_columns()
    return {
        row[name]: PageState(
            tuple(row), bool(row[tracked]), row[latest] is not None, _aware(row[refreshed])
        )
        for row in rows
    }


def _aware(value: object) -> dt.datetime | None:
    """A timestamp column as read without the ORM (SQLite gives its text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    assert isinstance(value, dt.datetime)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def package_for_page(name: str) -> Package | None:
    """The package by canonical name, with its `recent` and ClickHouse `history` rows, in
    one query."""
    return Package.objects.select_related("recent", "history").filter(name=name).first()


def data_status(package: Package | None) -> dict[str, Any]:
    """Where a package without data stands, for the polled progress fragment of the
    package and compare pages; `done` stops the polling. A tracked package whose
    ClickHouse history is still to come is "waiting" even with upstream's days held: its
    page shows live charts until then, and "ready" reloads it onto the stored ones."""
    if package is None:
        return {"state": "untracked", "done": True}
    if package.has_data:
        if history.backfill_pending(package):
            # Its page reads ClickHouse live until the history is stored too (pages/live.py).
            return {"state": "waiting", "done": False}
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
    rows: list[Mover]  # largest absolute change first (gains and losses)

    @property
    def previous_start(self) -> dt.date:
        return self.week_start - dt.timedelta(days=7)

    @property
    def previous_end(self) -> dt.date:
        return self.week_start - dt.timedelta(days=1)


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
            # Upstream's weeks only: first_date/latest_date above are upstream's.
            category__source=Source.UPSTREAM,
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
    # One table (issue #14): a second one by percentage mostly repeated it, led by tiny
    # packages whose few downloads doubled.
    by_change = sorted(movers, key=lambda m: (-abs(m.change), m.name))[:limit]
    return Movers(week_start, week_end, by_change)

"""Reads of a package nobody tracks, live from ClickHouse, for the pages (issue #15, item 4).

Nothing here is stored: the package page, compare and search ask ClickHouse directly and
cache the answers. The package's latest day (pypi_downloads_max_min) is cached briefly and
is part of every other key, so a new day in ClickHouse makes the older answers unreachable
and repeated views within it never query ClickHouse. A page never waits long for the
request budget (PAGE_MAX_WAIT) and tries once more at most: a visitor gets a clear page
instead of a spinner while a worker's backfill holds the budget.
"""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlsplit

from django.conf import settings

from packages_app import soft_cache
from packages_app.history import queries
from packages_app.history.client import (
    ClickHouseClient,
    ClickHouseDisabled,
    ClickHouseError,
    enabled,
)
from packages_app.history.queries import AllTime, Dates
from packages_app.models import Metric
from packages_app.store.points import SeriesByMetric

logger = logging.getLogger(__name__)

__all__ = [
    "AllTime",
    "ClickHouseDisabled",
    "Dates",
    "dates",
    "enabled",
    "prefix_matches",
    "series",
    "source_key",
    "summary",
]

# How long ClickHouse's latest day for a package is trusted (ClickPy loads a day at a time).
DATES_SECONDS = 10 * 60
# Answers keyed by the latest day stay valid until a new day arrives; this bounds their life.
ANSWER_SECONDS = 24 * 3600
# Search suggestions: a query a keystroke, so briefly.
PREFIX_SECONDS = 5 * 60
PAGE_MAX_WAIT = 1.0
PAGE_MAX_TRIES = 2
_NEVER_SEEN = "never-seen"


def page_client(max_wait: float = PAGE_MAX_WAIT) -> ClickHouseClient:
    return ClickHouseClient(
        max_wait=max_wait, max_tries=min(PAGE_MAX_TRIES, settings.CLICKHOUSE_MAX_TRIES)
    )


def source_key() -> str:
    # One ClickHouse's answers are not another's (tests and `make demo` point elsewhere).
    url = str(settings.CLICKHOUSE_URL)
    return f"{urlsplit(url).netloc}:{settings.CLICKHOUSE_DATABASE}"


def summary(name: str) -> tuple[Dates, AllTime] | None:
    """ClickHouse's first and latest day for `name` and its all-time totals, in one query
    (None: it has never seen the name). Trusted for DATES_SECONDS.

    Raises ClickHouseDisabled when the source is off, ClickHouseError when it fails.
    """
    if not enabled():
        raise ClickHouseDisabled("CLICKHOUSE_URL is empty")
    key = f"chlive:summary:v1:{source_key()}:{name}"
    cached = soft_cache.get(key)
    if isinstance(cached, tuple):
        return cached
    if cached == _NEVER_SEEN:
        return None
    with page_client() as client:
        found = queries.package_summary(client, name)
    soft_cache.set(key, found or _NEVER_SEEN, DATES_SECONDS)
    return found


def dates(name: str) -> Dates | None:
    """ClickHouse's first and latest day for `name` (None: it has never seen the name): the
    summary's dates, the same cached answer. Raises as summary() does."""
    found = summary(name)
    return found[0] if found is not None else None


def series(
    name: str,
    held: Dates,
    metrics: tuple[Metric, ...],
    start: dt.date,
    end: dt.date,
    *,
    unknown: bool = True,
) -> SeriesByMetric:
    """The package's series over [start, end] in the store's shape (metric -> category ->
    day -> downloads), so the chart layer reads them like stored points.

    ONE query for whatever is not cached (queries.series_at_once: the series as branches
    of a UNION ALL), each series then cached on its own by name, dates and ClickHouse's
    latest day, so the package page and compare share them. A breakdown's `null` needs the
    day's mirror downloads from the overall series, which is read along (a branch, not a
    query) unless `unknown` is False (a caller that shows one known category): the
    breakdown then comes without `null` and is cached apart.
    """
    base = f"chlive:series:v3:{source_key()}:{name}:{held.latest}:{start}:{end}"

    def key(metric: Metric, *, known_only: bool = False) -> str:
        return f"{base}:{int(metric)}" + (":known" if known_only else "")

    found: dict[Metric, dict[str, dict[dt.date, int]]] = {}
    for metric in metrics:
        cached = soft_cache.get(key(metric))
        if cached is None and not unknown and metric != Metric.OVERALL:
            cached = soft_cache.get(key(metric, known_only=True))
        if cached is not None:
            found[metric] = cached
    missing = [metric for metric in metrics if metric not in found]
    if missing:
        with page_client() as client:
            points = queries.series_at_once(client, name, start, end, missing, unknown=unknown)
        empty: dict[str, dict[dt.date, int]] = {}
        read = dict.fromkeys(missing, empty) | {
            Metric(metric): shaped for metric, shaped in _by_metric(points).items()
        }
        # A breakdown read without the overall series has no `null`: cached apart.
        known_only = Metric.OVERALL not in read
        for metric, shaped in read.items():
            found[metric] = shaped
            soft_cache.set(
                key(metric, known_only=known_only and metric != Metric.OVERALL),
                shaped,
                ANSWER_SECONDS,
            )
    return {metric: dict(found[metric]) for metric in metrics}


def _by_metric(points: queries.Points) -> dict[int, dict[str, dict[dt.date, int]]]:
    """Points as metric -> category -> day -> downloads."""
    shaped: dict[int, dict[str, dict[dt.date, int]]] = {}
    for (metric, category, day), downloads in points.items():
        shaped.setdefault(int(metric), {}).setdefault(category, {})[day] = downloads
    return shaped


def prefix_matches(prefix: str, limit: int) -> list[tuple[str, int]]:
    """Projects whose name starts with `prefix`, biggest first: [] when the source is off
    or fails (search must answer without it; the failure is logged)."""
    if not enabled() or not prefix:
        return []
    key = f"chlive:prefix:v1:{source_key()}:{limit}:{prefix}"
    cached = soft_cache.get(key)
    if isinstance(cached, list):
        return cached
    try:
        # A suggestion is not worth a wait: with no budget slot free it is left out, and
        # keystrokes never hold back the pages and backfills sharing the budget.
        with page_client(max_wait=0.0) as client:
            found = queries.projects_with_prefix(client, prefix, limit)
    except ClickHouseError as exc:  # search works without suggestions from ClickHouse
        logger.warning("ClickHouse search for %r failed: %s", prefix, exc)
        return []
    soft_cache.set(key, found, PREFIX_SECONDS)
    return found

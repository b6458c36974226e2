"""The page data of a package nobody tracks, read live from ClickHouse (issue #15, item 4).

The charts are the package page's own: pages/package.py's `build_payload` and `bundle_of`
fed from history/live.py's series instead of the store. The bundle is cached by the
package's name, the canonical options and ClickHouse's latest day for it, so a warm view
reads three cache keys and no ClickHouse at all.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from packages_app import soft_cache
from packages_app.categories import UNKNOWN
from packages_app.history import live
from packages_app.history import selectors as history
from packages_app.history.client import ClickHouseError
from packages_app.history.queries import AllTime
from packages_app.models import Metric, Package
from packages_app.pages.chart import CACHE_SECONDS, with_markers
from packages_app.pages.options import ChartOptions
from packages_app.pages.package import CHART_METRICS, LAZY_TABLES, build_payload, bundle_of
from packages_app.store.points import SeriesByMetric

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LivePackage:
    """What the page needs of an untracked package; reads like a Package in the templates."""

    name: str
    first_date: dt.date
    latest_date: dt.date
    total: AllTime
    has_data: bool = True
    tracked: bool = False

    # What compare's cache key reads of a package: no row, and a new day is a new version.
    pk = 0

    @property
    def data_version(self) -> str:
        return f"clickhouse:{self.latest_date}"

    def points(
        self, metric: Metric, category: str, spans: Sequence[tuple[dt.date, dt.date]]
    ) -> dict[dt.date, int]:
        """One series on the days inside any of `spans` (compare's windows), as stored points."""
        start, end = min(s for s, _ in spans), max(e for _, e in spans)
        start, end = max(start, self.first_date), min(end, self.latest_date)
        if start > end:
            return {}
        # Only the metric shown (compare): one query, two for a breakdown's `null`.
        held = live.Dates(self.first_date, self.latest_date)
        found = live.series(self.name, held, (metric,), start, end, unknown=category == UNKNOWN)
        days = found[metric].get(category, {})
        return {d: n for d, n in days.items() if any(s <= d <= e for s, e in spans)}

    def fetch(self, start: dt.date, end: dt.date) -> SeriesByMetric:
        """Every series the package page charts (its points source)."""
        return live.series(
            self.name, live.Dates(self.first_date, self.latest_date), CHART_METRICS, start, end
        )


def reads_live(package: Package | None) -> bool:
    """Whether a name's pages read ClickHouse live: the store cannot show it yet. Nothing is
    held for it (nobody tracks it, or its first refresh has not landed), or it is tracked
    and its ClickHouse history is still to come: from "Track" until both are stored, its
    page keeps the live charts instead of a shorter stored history or a progress card.
    Whoever reads live falls back to the store (or the progress card) when ClickHouse
    fails or has never seen the name, if a package is tracked."""
    return package is None or not package.has_data or history.backfill_pending(package)


def live_package(name: str) -> LivePackage | None:
    """The package as ClickHouse knows it (None: never seen). Raises ClickHouseDisabled when
    the source is off and ClickHouseError when ClickHouse fails."""
    found = live.summary(name)
    if found is None:
        return None
    held, total = found
    return LivePackage(name, held.first, held.latest, total)


def live_packages(names: Iterable[str]) -> tuple[dict[str, LivePackage], dict[str, str]]:
    """The names ClickHouse knows, read live (compare), and why the others are not:
    "unknown" (never seen) or "unavailable" (ClickHouse failed; logged). Nothing when the
    source is off."""
    found: dict[str, LivePackage] = {}
    problems: dict[str, str] = {}
    for name in names:
        try:
            package = live_package(name)
        except live.ClickHouseDisabled:
            return {}, {}
        except ClickHouseError as exc:
            logger.warning("ClickHouse could not answer for %s: %s", name, exc)
            problems[name] = "unavailable"
            continue
        if package is None:
            problems[name] = "unknown"
        else:
            found[name] = package
    return found, problems


def live_payload(package: LivePackage, options: ChartOptions) -> dict[str, Any] | None:
    """The charts' payload (exports, compare): the bundle's, so both share one cache entry."""
    bundle = live_bundle(package, options)
    return bundle["payload"] if bundle else None


def live_bundle(package: LivePackage, options: ChartOptions) -> dict[str, Any] | None:
    """The payload, its json_script and tables (pages/package.py's shape), cached."""
    if options.window(package.first_date, package.latest_date) is None:
        return None
    key = f"livebundle:v3:{live.source_key()}:{package.name}:{package.latest_date}:{options.cache_key}"
    cached = soft_cache.get(key)
    if cached is not None:
        return dict(cached)
    payload = build_payload(
        package.name,
        package.first_date,
        package.latest_date,
        options,
        package.fetch,
        data_version=package.data_version,
    )
    if payload is None:
        return None
    bundle = bundle_of(with_markers(payload), lazy_tables=LAZY_TABLES)
    soft_cache.set(key, bundle, CACHE_SECONDS)
    return bundle

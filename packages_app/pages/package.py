"""The data behind a package page: its charts' payload, headline numbers, Python support.

What the package page charts (five charts of one package) is built here; what it
shares with the compare page (labels, payload pieces, tables, controls) comes from
pages/chart.py. Everything returns plain, JSON-safe data (the payload goes to the
browser with json_script, to the exports, and into the cache). It is cached under the
package's data_version and the canonical options, so a refresh that commits a change
makes every cached payload of that package unreachable at once. HTML is never cached
(it carries CSP nonces and the user's name); only this data is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from packages_app import series, soft_cache
from packages_app.categories import UNKNOWN
from packages_app.history import selectors as history
from packages_app.history.models import HistoryState
from packages_app.models import Metric, Package
from packages_app.pages.chart import (
    CACHE_SECONDS,
    SMOOTH_DAYS,
    category_label,
    control_links,
    data_script,
    data_table,
    json_numbers,
    with_markers,
)
from packages_app.pages.options import ChartOptions, Window
from packages_app.pages.python_support import PythonSupport, python_support, version_key
from packages_app.store import points
from packages_app.store.points import SeriesByMetric
from packages_app.sync.quality import MarkerJSON

# Past this many Python minors the chart folds the smallest into "other": more lines
# than the colour-blind-safe palette has colours cannot be told apart.
MAX_MINOR_SERIES = 7
# The data tables print the share chart's percentages (held to 2 decimals) with 1.
PERCENT_DECIMALS = 1


@dataclass(frozen=True)
class ChartSpec:
    id: str
    title: str
    metric: Metric
    share: bool  # percentages of the period total instead of downloads
    description: str


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "overall",
        "Downloads",
        Metric.OVERALL,
        False,
        "All downloads, with and without mirrors (bandersnatch and other mirroring tools).",
    ),
    ChartSpec(
        "python_major",
        "Python major version",
        Metric.PYTHON_MAJOR,
        False,
        "Downloads by Python major version (without mirrors).",
    ),
    ChartSpec(
        "python_minor_share",
        "Python minor version: share",
        Metric.PYTHON_MINOR,
        True,
        "Each Python minor version's share of the downloads, in percent.",
    ),
    ChartSpec(
        "python_minor",
        "Python minor version: downloads",
        Metric.PYTHON_MINOR,
        False,
        "Downloads by Python minor version (without mirrors).",
    ),
    ChartSpec(
        "system",
        "Operating system",
        Metric.SYSTEM,
        False,
        "Downloads by operating system (without mirrors).",
    ),
)
CHART_METRICS = (Metric.OVERALL, Metric.PYTHON_MAJOR, Metric.PYTHON_MINOR, Metric.SYSTEM)
CHART_IDS = frozenset(spec.id for spec in CHARTS)
# The charts whose data table the package page fetches when it is first opened (an htmx
# partial, or a page of its own without JavaScript) instead of holding it: every chart
# below the first. Their thousands of cells were most of the page's bytes and of the
# browser's parsing before DOMContentLoaded (#14 item 7); their numbers travel in the
# JSON payload instead. The first chart's table stays in the page, one click away.
LAZY_TABLES = frozenset(spec.id for spec in CHARTS[1:])


def _ordered_categories(metric: Metric, by_category: dict[str, dict[dt.date, int]]) -> list[str]:
    names = list(by_category)
    if metric in (Metric.OVERALL, Metric.SYSTEM):
        order = metric.categories
        return [n for n in order if n in by_category] + sorted(n for n in names if n not in order)
    # Python versions: newest first reads best in a legend; "null" (unknown) last.
    known = sorted((n for n in names if n != UNKNOWN), key=version_key, reverse=True)
    return known + ([UNKNOWN] if UNKNOWN in by_category else [])


def _fold_minor_versions(
    by_category: dict[str, dict[dt.date, int]], window: Window
) -> dict[str, dict[dt.date, int]]:
    """Keep the MAX_MINOR_SERIES - 1 versions with the biggest day in the window; sum the
    rest into "other".

    Ranked by their peak day, not their total: over ten years a version that was big for
    years (3.6) would outweigh the ones most downloads use at the end (3.13, 3.14), and
    those would vanish into "other" exactly where a reader looks (docs/decisions.md).
    """
    if len(by_category) <= MAX_MINOR_SERIES:
        return by_category

    def peak(points: dict[dt.date, int]) -> int:
        return max((v for d, v in points.items() if window.start <= d <= window.end), default=0)

    def rank(name: str) -> tuple[int, bool, tuple[int, ...]]:
        # Equal peaks: the newer version first, unknown last.
        return (-peak(by_category[name]), name == UNKNOWN, tuple(-n for n in version_key(name)))

    ranked = sorted(by_category, key=rank)
    keep = set(ranked[: MAX_MINOR_SERIES - 1])
    folded: dict[str, dict[dt.date, int]] = {n: by_category[n] for n in by_category if n in keep}
    other: dict[dt.date, int] = {}
    for name in ranked[MAX_MINOR_SERIES - 1 :]:
        for day, value in by_category[name].items():
            other[day] = other.get(day, 0) + value
    folded["other"] = other
    return folded


def _values(
    points: dict[dt.date, int],
    window: Window,
    options: ChartOptions,
    held_from: dt.date,
    periods: list[series.Period],
) -> list[int | float | None]:
    if options.smoothing_applies:
        averages = series.trailing_average(
            points, window.start, window.end, held_from=held_from, window=SMOOTH_DAYS
        )
        return [None if v is None else round(v, 1) for v in averages]
    return list(series.sums(points, window.start, window.end, options.agg, periods))


def _periods(window: Window, options: ChartOptions) -> list[series.Period]:
    """The x axis, shared by every chart of the page."""
    return series.periods(window.start, window.end, options.shown_agg)


def _chart(
    spec: ChartSpec,
    by_category: dict[str, dict[dt.date, int]],
    window: Window,
    options: ChartOptions,
    held_from: dt.date,
    periods: list[series.Period],
) -> dict[str, Any]:
    if spec.metric == Metric.PYTHON_MINOR:
        by_category = _fold_minor_versions(by_category, window)
    names = _ordered_categories(spec.metric, by_category)
    if spec.metric == Metric.PYTHON_MINOR and "other" in by_category:
        names = [n for n in names if n != "other"] + ["other"]
    columns: dict[str, list[int | float | None]] = {}
    for name in names:
        columns[name] = _values(by_category[name], window, options, held_from, periods)
    if spec.share:
        numeric = {n: [v or 0 for v in values] for n, values in columns.items()}
        shared = series.shares(numeric)
        columns = {
            n: [None if v is None else round(v, 2) for v in values] for n, values in shared.items()
        }
    return {
        "id": spec.id,
        "title": spec.title,
        "description": spec.description,
        "metric": spec.metric.label,
        "share": spec.share,
        "datasets": [
            {
                "key": name,
                "label": category_label(spec.metric, name),
                "data": json_numbers(columns[name]),
            }
            for name in names
        ],
    }


def chart_payload(
    package: Package, options: ChartOptions, *, use_cache: bool = True
) -> dict[str, Any] | None:
    """Everything the charts show for these options; None when no data is held in the window.

    Reads the points of the four metrics in ONE query (plus six days before the
    window when a 7-day average is drawn), then aggregates in Python.
    """
    held = history.sources(package)
    first = held.first
    window = options.window(first, package.latest_date)
    if window is None or first is None:
        return None
    key = f"pkgpage:v3:{package.pk}:{package.data_version}:{options.cache_key}"
    cached = soft_cache.get(key) if use_cache else None
    if cached is not None:
        return _with_all_markers(dict(cached))

    def stored(start: dt.date, end: dt.date) -> SeriesByMetric:
        return points.package_series(
            package_id=package.pk, metrics=CHART_METRICS, start=start, end=end
        )

    payload = build_payload(
        package.name,
        first,
        package.latest_date,
        options,
        stored,
        data_version=package.data_version,
    )
    if payload is None:
        return None
    # Cached with the data (they change only with it); merged into "markers" on the way out.
    payload["source_markers"] = source_markers(package, held, window)
    if use_cache:
        soft_cache.set(key, payload, CACHE_SECONDS)
    # chart_bundle keeps the markers with the page bundle: a newly detected suspect day
    # shows on a package's page when that package's next refresh bumps its data_version.
    return _with_all_markers(payload)


# Where a payload's points come from: the store (a tracked package) or ClickHouse, read
# live (an untracked one, pages/live.py). (start, end) -> metric -> category -> day -> n.
PointsSource = Callable[[dt.date, dt.date], SeriesByMetric]


def build_payload(
    name: str,
    first_date: dt.date | None,
    latest_date: dt.date | None,
    options: ChartOptions,
    fetch: PointsSource,
    *,
    data_version: int | str,
) -> dict[str, Any] | None:
    """The charts' payload of one package from any points source (uncached, no markers)."""
    window = options.window(first_date, latest_date)
    if window is None or first_date is None:
        return None
    fetch_start = window.start
    if options.smoothing_applies:
        fetch_start = max(first_date, window.start - dt.timedelta(days=SMOOTH_DAYS - 1))
    data = fetch(fetch_start, window.end)
    periods = _periods(window, options)
    charts = [
        _chart(spec, data.get(spec.metric, {}), window, options, first_date, periods)
        for spec in CHARTS
    ]
    without = data.get(Metric.OVERALL, {}).get("without_mirrors", {})
    summ = series.summary(without, window.start, window.end)
    return {
        "package": name,
        "window": window.as_payload(),
        "options": options.as_payload(),
        "summary": {
            "total": summ.total,
            "growth_pct": summ.growth_pct,
            "week_over_week_pct": summ.week_over_week_pct,
            "last_week": summ.last_week,
            "previous_week": summ.previous_week,
        },
        "data_version": data_version,
        "periods": series.periods_payload(periods),
        "charts": charts,
    }


BOUNDARY_KIND = "boundary"


def boundary_label(held: history.Sources) -> str:
    """What the chart's boundary marker and the "history since" line name: where ClickHouse's
    days end and upstream's begin ("" when the page shows one source only)."""
    if held.clickhouse_last is None or held.boundary is None:
        return ""
    return f"ClickHouse until {held.clickhouse_last}, then the PyPI Stats API"


def source_markers(package: Package, held: history.Sources, window: Window) -> list[MarkerJSON]:
    """The package's own markers in the window: the day upstream's days begin after
    ClickHouse's (a line, like a data-quality marker), and the days the two sources disagree
    on by more than the tolerance, with both numbers (history.selectors.agreement)."""
    found: list[MarkerJSON] = []
    label = boundary_label(held)
    if label and held.boundary is not None and window.start < held.boundary <= window.end:
        found.append(
            {
                "start": held.boundary.isoformat(),
                "end": held.boundary.isoformat(),
                "kind": BOUNDARY_KIND,
                "label": f"Source boundary: {label} from {held.boundary}",
                "url": "",
            }
        )
    if _both_sources_hold_days(held) and held.boundary is not None:
        # Only upstream's days can disagree: read from the boundary, not ten years.
        start = max(window.start, held.boundary)
        if start <= window.end:
            found.extend(
                m.as_dict() for m in history.disagreement_markers(package.pk, start, window.end)
            )
    return found


def _both_sources_hold_days(held: history.Sources) -> bool:
    """Whether ClickHouse holds days inside upstream's window (the cross-check has days);
    read from the history row, so a package without ClickHouse history costs no query."""
    return (
        held.state == HistoryState.OK
        and held.boundary is not None
        and held.clickhouse_latest is not None
        and held.clickhouse_latest >= held.boundary
    )


def _with_all_markers(payload: dict[str, Any]) -> dict[str, Any]:
    """The site-wide data-quality markers (chart.with_markers) and the package's own."""
    own = payload.pop("source_markers", [])
    payload = with_markers(payload)
    payload["markers"] = [*own, *payload["markers"]]
    return payload


@dataclass(frozen=True)
class Recent:
    """Last day, week and month (mirror-free), as upstream's `recent` defines them."""

    last_day: int | None
    last_week: int | None
    last_month: int | None
    source: str  # "upstream" (the recent row) or "computed" (from the stored points)


@dataclass(frozen=True)
class PackageFacts:
    recent: Recent
    python: PythonSupport | None
    # Where the days come from, the all-time total (ClickHouse's years included when held)
    # and the cross-check of the two sources (None: they share no day).
    sources: history.Sources | None = None
    total: history.Total | None = None
    agreement: history.Agreement | None = None

    @property
    def boundary_label(self) -> str:
        return boundary_label(self.sources) if self.sources else ""

    @property
    def total_caption(self) -> str:
        return total_caption(self.total) if self.total else ""


def total_caption(total: history.Total) -> str:
    """Where an all-time total comes from, for the page's label and the badge's tooltip."""
    if total.since is None or total.through is None:
        return "no downloads held"
    if total.with_clickhouse:
        return (
            f"all time without mirrors, {total.since} to {total.through}: "
            "ClickHouse, then the PyPI Stats API"
        )
    return (
        f"without mirrors since tracking began, {total.since} to {total.through}: "
        "the PyPI Stats API"
    )


def package_facts(package: Package, *, today: dt.date) -> PackageFacts:
    """Headline numbers, the Python support panel, the all-time total and the sources'
    agreement, cached by data_version: the last 30 days held in one query, the total in
    another, and the cross-check in a third only when ClickHouse and upstream share days.
    """
    key = f"pkgfacts:v2:{package.pk}:{package.data_version}:{today.isoformat()}"
    cached = soft_cache.get(key)
    if isinstance(cached, PackageFacts):
        return cached
    recent_row = getattr(package, "recent", None) if _has_recent(package) else None
    if package.latest_date is None:
        facts = PackageFacts(Recent(None, None, None, "computed"), None)
    else:
        end = package.latest_date
        start = end - dt.timedelta(days=29)
        data = points.package_series(
            package_id=package.pk,
            metrics=[Metric.OVERALL, Metric.PYTHON_MINOR],
            start=start,
            end=end,
        )
        if recent_row is not None:
            recent = Recent(
                recent_row.last_day, recent_row.last_week, recent_row.last_month, "upstream"
            )
        else:
            without = data[Metric.OVERALL].get("without_mirrors", {})
            values = series.zero_fill(without, start, end)
            held = max(0, (end - max(start, package.first_date or end)).days + 1)
            recent = Recent(
                values[-1] if held >= 1 else None,
                sum(values[-7:]) if held >= 7 else None,
                sum(values) if held >= 30 else None,
                "computed",
            )
        totals = {name: sum(points.values()) for name, points in data[Metric.PYTHON_MINOR].items()}
        python = (
            python_support(
                totals, start=max(start, package.first_date or start), end=end, today=today
            )
            if totals
            else None
        )
        where = history.sources(package)
        facts = PackageFacts(
            recent,
            python,
            sources=where,
            total=history.all_time_total(package.pk, package=package),
            agreement=(
                history.agreement(package.pk, start=where.boundary)
                if _both_sources_hold_days(where)
                else None
            ),
        )
    soft_cache.set(key, facts, CACHE_SECONDS)
    return facts


def _has_recent(package: Package) -> bool:
    try:
        package.recent  # noqa: B018 (select_related: no query)
    except Package.recent.RelatedObjectDoesNotExist:
        return False
    return True


def chart_bundle(package: Package, options: ChartOptions) -> dict[str, Any] | None:
    """The payload plus what the page renders from it: its json_script element and the tables.

    Cached as a whole under data_version + options, so a warm page request does no
    series work at all. None of it holds a CSP nonce or anything per user.
    """
    if options.window(history.sources(package).first, package.latest_date) is None:
        return None
    key = f"pkgbundle:v5:{package.pk}:{package.data_version}:{options.cache_key}"
    cached = soft_cache.get(key)
    if cached is not None:
        return dict(cached)
    # The bundle holds the payload: caching it a second time on its own would only
    # cost another pickle and round trip (exports read it through chart_payload).
    payload = chart_payload(package, options, use_cache=False)
    if payload is None:
        return None
    bundle = bundle_of(payload, lazy_tables=LAZY_TABLES)
    soft_cache.set(key, bundle, CACHE_SECONDS)
    return bundle


def bundle_of(
    payload: dict[str, Any], *, lazy_tables: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A payload with what a page renders from it: its json_script element and tables.

    `lazy_tables`: the charts whose table the page does not hold but fetches when asked
    (the package page: LAZY_TABLES); their numbers go in the json_script element instead.
    "tables" holds every chart's table either way (the table partial serves them).
    """
    return {
        "payload": payload,
        "data_script": data_script(payload, numbers_of=lazy_tables),
        "lazy_tables": lazy_tables,
        "tables": {
            chart["id"]: data_table(
                payload["periods"],
                payload["options"]["agg"],
                chart["datasets"],
                chart_id=chart["id"],
                percent=chart["share"],
                percent_decimals=PERCENT_DECIMALS,
            )
            for chart in payload["charts"]
        },
    }


def table_url(name: str, options: ChartOptions) -> Callable[[str], str]:
    """Where a below-the-fold table of `name`'s page is fetched when first opened."""
    query = options.querystring()
    return lambda chart_id: reverse("package-table", args=[name, chart_id]) + query


def charts_context(
    bundle: dict[str, Any] | None,
    options: ChartOptions,
    *,
    table_url: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """What the charts partial (package_detail.html#charts) renders from a bundle, for a
    tracked package's page and a live one alike: the payload, its json_script, each chart
    with its table, the controls and the query string.

    `table_url(chart_id)`: where a chart of the bundle's `lazy_tables` fetches its table
    when first opened (package_table); its numbers are in the json_script element instead.
    """
    charts = []
    if bundle is not None:
        lazy = bundle.get("lazy_tables", frozenset())
        for chart in bundle["payload"]["charts"]:
            if table_url is not None and chart["id"] in lazy:
                charts.append({**chart, "table_url": table_url(chart["id"])})
            else:
                charts.append({**chart, "table": bundle["tables"][chart["id"]]})
    return {
        "options": options,
        "payload": bundle["payload"] if bundle else None,
        "chart_data": bundle["data_script"] if bundle else "",
        "charts": charts,
        # A link back to the defaults is "?", not "": an empty href is this very URL.
        "controls": control_links(options, lambda **change: options.querystring(**change) or "?"),
        "querystring": options.querystring(),
    }

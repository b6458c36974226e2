"""Comparison pages: options, the one-query read of the compared series, and the payload.

Options live in the query string (design.md "Pages"): `packages` (comma-separated,
at most MAX_PACKAGES), `metric`, `category`, `mode`, plus the chart options shared
with the package page (range/start/end/agg/smooth/scale, packages_app.pages.options).
One view state has exactly one URL: `CompareOptions.querystring()` lists the
non-default options in a fixed order, and the view redirects to it.

The payload (chart datasets + stats table) is plain JSON-safe data, cached under
every compared package's id, data_version and held dates plus the canonical options:
a refresh that commits a change makes it unreachable. HTML is never cached. What the
compare page shares with the package page (labels, payload pieces, the data table, the
chart controls) comes from pages/chart.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString

from packages_app import series, soft_cache
from packages_app.categories import UNKNOWN
from packages_app.history import breakdown_keys
from packages_app.history import breakdown_selectors as breakdowns
from packages_app.history import selectors as history
from packages_app.history.breakdown_selectors import INSTALLER_CATEGORIES, Kind
from packages_app.history.client import ClickHouseError, enabled
from packages_app.models import Metric, Package
from packages_app.names import ALL_PACKAGES, InvalidPackageName, canonicalize
from packages_app.pages.chart import (
    CACHE_SECONDS,
    SMOOTH_DAYS,
    Control,
    category_label,
    control_link,
    control_links,
    data_table,
    json_numbers,
    percentage,
    with_markers,
)
from packages_app.pages.live import LivePackage
from packages_app.pages.options import (
    COMPARE_DEFAULTS,
    ChartOptions,
    OptionsError,
    QueryLike,
    parse_options,
)
from packages_app.store import points as stored_points

logger = logging.getLogger(__name__)

MAX_PACKAGES = 10
# The data table's percentages: 2 decimals; a share of all PyPI too small for them keeps
# two significant digits (chart.cell), and the payload keeps chart.PERCENT_DIGITS.
PERCENT_DECIMALS = 2

MODES: tuple[str, ...] = ("absolute", "share", "share_pypi")
MODE_LABELS: dict[str, str] = {
    "absolute": "Downloads",
    "share": "Share of these",
    "share_pypi": "Share of PyPI",
}
DEFAULT_MODE = "absolute"
DEFAULT_METRIC = Metric.OVERALL
METRIC_LABELS: dict[Metric, str] = {
    Metric.OVERALL: "Overall",
    Metric.PYTHON_MAJOR: "Python major",
    Metric.PYTHON_MINOR: "Python minor",
    Metric.SYSTEM: "OS",
}

# The picker offers Metric.categories (packages_app/categories.py); a Python minor is an
# open set, so any version matching this is accepted too.
_MINOR_RE = re.compile(r"^(2\.[0-7]|3\.[0-9]{1,2})\Z")
DEFAULT_CATEGORY: dict[Metric, str] = {
    Metric.OVERALL: "without_mirrors",
    Metric.PYTHON_MAJOR: "3",
    Metric.PYTHON_MINOR: "3.12",
    Metric.SYSTEM: "Linux",
}


# The ClickHouse breakdowns (issue #16 item 4), offered only when ClickHouse is on: the
# `metric` slug of each, its default category and how its category reads alone.
BREAKDOWN_SLUGS: dict[str, Kind] = {
    "version": Kind.VERSIONS,
    "installer": Kind.INSTALLERS,
    "country": Kind.COUNTRIES,
}
BREAKDOWN_LABELS: dict[Kind, str] = {
    Kind.VERSIONS: "Version",
    Kind.INSTALLERS: "Installer",
    Kind.COUNTRIES: "Country",
}
BREAKDOWN_DEFAULT_CATEGORY: dict[Kind, str] = {
    Kind.VERSIONS: breakdown_keys.LATEST,
    Kind.INSTALLERS: "uv",
    Kind.COUNTRIES: "US",
}
# On a breakdown, "share" is the category's share of each package's own downloads (uv's
# share of a package's installs), the question it answers; share of all PyPI has no
# breakdown to divide by.
BREAKDOWN_MODES: tuple[str, ...] = ("absolute", "share")
BREAKDOWN_MODE_LABELS: dict[str, str] = {
    "absolute": "Downloads",
    "share": "Share of each package",
}
BREAKDOWN_DEFAULT_MODE = "share"


def breakdowns_offered() -> bool:
    return enabled()


def slug_of(kind: Kind) -> str:
    return next(slug for slug, k in BREAKDOWN_SLUGS.items() if k is kind)


def _country_names() -> dict[str, str]:
    """ISO code -> name, {} when ClickHouse cannot say (then any two letters are accepted)."""
    try:
        return breakdowns.country_names()
    except ClickHouseError:
        return {}


def breakdown_category_label(kind: Kind, key: str) -> str:
    """How a breakdown category reads on its own: "uv installs", "Germany", "version 2.*"."""
    if kind is Kind.VERSIONS:
        if key == breakdown_keys.LATEST:
            return "Latest release"
        return f"Version {key}"
    if kind is Kind.INSTALLERS:
        return "Other installers" if key == breakdowns.OTHER else f"{key} installs"
    return breakdowns.label(kind, key, _country_names())


def canonical_breakdown_category(kind: Kind, raw: str) -> str | None:
    """The category as read (installer in lower case, country as its ISO code, a version as
    typed or "latest"); None when the breakdown has no such category."""
    text = raw.strip()
    if kind is Kind.INSTALLERS:
        folded = text.casefold()
        return folded if folded in INSTALLER_CATEGORIES else None
    if kind is Kind.VERSIONS:
        if text.casefold() == breakdown_keys.LATEST:
            return breakdown_keys.LATEST
        return text if breakdown_keys.version_grouping(text) else None
    names = _country_names()
    upper = text.upper()
    if re.fullmatch(r"[A-Z]{2}", upper):
        return upper if not names or upper in names else None
    folded = text.casefold()
    return next((code for code, name in names.items() if name.casefold() == folded), None)


def category_choices(metric: Metric, breakdown: Kind | None = None) -> list[tuple[str, str]]:
    """The category picker's (value, label) options for a metric ([] for versions: typed)."""
    if breakdown is Kind.VERSIONS:
        return []
    if breakdown is Kind.INSTALLERS:
        return [(k, breakdown_category_label(breakdown, k)) for k in INSTALLER_CATEGORIES]
    if breakdown is Kind.COUNTRIES:
        names = _country_names()
        return sorted(names.items(), key=lambda item: item[1].casefold())
    return [(name, category_label(metric, name, standalone=True)) for name in metric.categories]


def canonical_category(metric: Metric, raw: str) -> str | None:
    """Upstream's spelling of a category typed in any case; None when the metric has no such."""
    folded = raw.strip().casefold()
    if metric == Metric.PYTHON_MINOR:
        if folded == UNKNOWN:
            return UNKNOWN
        return folded if _MINOR_RE.match(folded) else None
    for name in metric.categories:
        if name.casefold() == folded:
            return name
    return None


# --- options -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompareOptions:
    packages: tuple[str, ...]
    metric: Metric = DEFAULT_METRIC
    category: str = DEFAULT_CATEGORY[DEFAULT_METRIC]
    mode: str = DEFAULT_MODE
    chart: ChartOptions = dataclasses.field(
        default_factory=lambda: parse_options({}, COMPARE_DEFAULTS)
    )
    # A ClickHouse breakdown (metric=version|installer|country) instead of `metric`.
    breakdown: Kind | None = None

    @property
    def metric_slug(self) -> str:
        return slug_of(self.breakdown) if self.breakdown else str(self.metric.label)

    @property
    def default_category(self) -> str:
        if self.breakdown:
            return BREAKDOWN_DEFAULT_CATEGORY[self.breakdown]
        return DEFAULT_CATEGORY[self.metric]

    @property
    def default_mode(self) -> str:
        return BREAKDOWN_DEFAULT_MODE if self.breakdown else DEFAULT_MODE

    @property
    def modes(self) -> tuple[str, ...]:
        return BREAKDOWN_MODES if self.breakdown else MODES

    @property
    def category_label(self) -> str:
        if self.breakdown:
            return breakdown_category_label(self.breakdown, self.category)
        return category_label(self.metric, self.category, standalone=True)

    @property
    def unit(self) -> str:
        return "downloads" if self.mode == "absolute" else "percent"

    def pairs(self, **overrides: Any) -> list[tuple[str, str]]:
        """The non-default options as (name, value) pairs in the canonical order:
        packages, metric, category, range|start,end, agg, smooth, scale, mode.

        Overrides use the field names; chart options (`range`, `agg`…) go to the chart.
        `metric` takes a Metric or a breakdown Kind. Changing it without a `category`
        resets that to the new metric's default; the mode follows the default too when
        the view is on the old one or the new metric has no such mode.
        """
        own: dict[str, Any] = {
            k: overrides.pop(k)
            for k in ("packages", "metric", "category", "mode")
            if k in overrides
        }
        if "metric" in own:
            metric = own.pop("metric")
            if isinstance(metric, Kind):
                own.update(metric=DEFAULT_METRIC, breakdown=metric)
            else:
                own.update(metric=metric, breakdown=None)
            moved = dataclasses.replace(self, **own)
            if "category" not in own:
                own["category"] = moved.default_category
            if "mode" not in own and (
                self.mode == self.default_mode or self.mode not in moved.modes
            ):
                own["mode"] = moved.default_mode
        options = dataclasses.replace(self, **own) if own else self
        pairs: list[tuple[str, str]] = []
        if options.packages:
            pairs.append(("packages", ",".join(options.packages)))
        if options.metric != DEFAULT_METRIC or options.breakdown:
            pairs.append(("metric", options.metric_slug))
        if options.category != options.default_category:
            pairs.append(("category", options.category))
        pairs.extend(options.chart.params(**overrides))
        if options.mode != options.default_mode:
            pairs.append(("mode", options.mode))
        return pairs

    def querystring(self, **overrides: Any) -> str:
        """`?…` (commas kept readable), "" when nothing differs from the defaults."""
        pairs = self.pairs(**overrides)
        return "?" + urlencode(pairs, safe=",*") if pairs else ""

    @property
    def cache_key(self) -> str:
        return urlencode(self.pairs(packages=())) or "-"


def _split_names(query: QueryLike) -> list[str]:
    """`packages` split on commas; `add` (typed in the add box) on commas and spaces."""
    getlist = getattr(query, "getlist", None)

    def values(key: str) -> list[str]:
        found = getlist(key) if callable(getlist) else [query.get(key)]
        return [str(v) for v in found if v]

    raw = [part.strip() for value in values("packages") for part in value.split(",")]
    raw += [part for value in values("add") for part in re.split(r"[,\s]+", value)]
    return [part for part in raw if part]


def parse_compare(query: QueryLike) -> tuple[CompareOptions, dict[str, str]]:
    """Read every option; return usable options AND the problems found (empty when none).

    Lenient on purpose: the page shows the problems next to what could be read (the
    valid packages, the defaults for an invalid option), never a blank error page.
    `add` (the "add a package" box) is merged into `packages`.
    """
    errors: dict[str, str] = {}
    names: list[str] = []
    invalid: list[str] = []
    for raw in _split_names(query):
        try:
            name = canonicalize(raw)
        except InvalidPackageName:
            invalid.append(raw[:60])
            continue
        if name not in names:
            names.append(name)
    if invalid:
        quoted = ", ".join(f"“{n}”" for n in invalid)
        errors["packages"] = (
            f"{quoted} {'is not a valid package name' if len(invalid) == 1 else 'are not valid package names'}"
        )
    if len(names) > MAX_PACKAGES:
        message = f"at most {MAX_PACKAGES} packages can be compared ({len(names)} given); the first {MAX_PACKAGES} are shown"
        errors["packages"] = f"{errors['packages']}; {message}" if "packages" in errors else message
        names = names[:MAX_PACKAGES]

    metric = DEFAULT_METRIC
    breakdown: Kind | None = None
    metric_raw = str(query.get("metric") or "").strip().lower()
    if metric_raw:
        offered = breakdowns_offered()
        if metric_raw in BREAKDOWN_SLUGS and offered:
            breakdown = BREAKDOWN_SLUGS[metric_raw]
        else:
            try:
                metric = Metric.from_slug(metric_raw)
            except ValueError:
                slugs = [str(m.label) for m in Metric] + (list(BREAKDOWN_SLUGS) if offered else [])
                errors["metric"] = f"must be one of {', '.join(slugs)}"

    category = BREAKDOWN_DEFAULT_CATEGORY[breakdown] if breakdown else DEFAULT_CATEGORY[metric]
    category_raw = str(query.get("category") or "").strip()
    if category_raw and "metric" not in errors:
        if breakdown:
            found = canonical_breakdown_category(breakdown, category_raw)
        else:
            found = canonical_category(metric, category_raw)
        if found is None:
            errors["category"] = _category_error(metric, breakdown, category_raw)
        else:
            category = found

    modes = BREAKDOWN_MODES if breakdown else MODES
    default_mode = BREAKDOWN_DEFAULT_MODE if breakdown else DEFAULT_MODE
    mode = str(query.get("mode") or "").strip().lower() or default_mode
    if mode not in modes:
        errors["mode"] = f"must be one of {', '.join(modes)}"
        mode = default_mode

    try:
        chart = parse_options(query, COMPARE_DEFAULTS)
    except OptionsError as error:
        errors.update(error.errors)
        chart = parse_options({}, COMPARE_DEFAULTS)
    options = CompareOptions(tuple(names), metric, category, mode, chart, breakdown)
    return options, errors


def _category_error(metric: Metric, breakdown: Kind | None, raw: str) -> str:
    shown = raw[:30]
    if breakdown is Kind.VERSIONS:
        return (
            f"“{shown}” is not a version: use latest, a release (2.3.1), "
            "a minor line (2.3.*) or a major (2.*)"
        )
    if breakdown is Kind.INSTALLERS:
        return f"installer has no category “{shown}” (one of {', '.join(INSTALLER_CATEGORIES)})"
    if breakdown is Kind.COUNTRIES:
        return f"“{shown}” is not a country: use an ISO code (US, DE, IN…) or a country's name"
    examples = ", ".join(metric.categories[:6])
    return f"{metric.label} has no category “{shown}” (e.g. {examples})"


# --- reads ---------------------------------------------------------------------------------------


def packages_by_name(names: Iterable[str]) -> dict[str, Package]:
    """The compared packages (and `__all__` when asked) with their `recent` and ClickHouse
    `history` rows: one query."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    rows = Package.objects.select_related("recent", "history").filter(name__in=wanted)
    return {p.name: p for p in rows}


def first_held(package: Package | LivePackage) -> dt.date | None:
    """The first day the package's merged series holds: ClickHouse's first day when its
    history is held, else upstream's (the history row came with the package: no query).
    An untracked package is read from ClickHouse alone: its own first day."""
    if isinstance(package, LivePackage):
        return package.first_date
    return history.sources(package).first


def compare_points(
    *,
    package_ids: Sequence[int],
    metric: Metric,
    category: str,
    spans: Sequence[tuple[dt.date, dt.date]],
) -> dict[int, dict[dt.date, int]]:
    """The daily points of one metric/category of several packages, in ONE query.

    `spans` are date ranges ORed together (the chart window and the last 30 days held,
    which differ when the window ends in the past). Plain data out: {package_id: {date: n}}.
    """
    result: dict[int, dict[dt.date, int]] = {pk: {} for pk in package_ids}
    if not package_ids or not spans:
        return result
    held = stored_points.by_package(
        package_ids=package_ids,
        metric=metric,
        category=category,
        start=min(start for start, _ in spans),
        end=max(end for _, end in spans),
    )
    for package_id, days in held.items():
        result[package_id] = {
            d: n for d, n in days.items() if any(start <= d <= end for start, end in spans)
        }
    return result


# --- payload -------------------------------------------------------------------------------------


def _period_values(
    filled: list[int],
    fill_start: dt.date,
    held: tuple[dt.date, dt.date],
    window_start: dt.date,
    window_end: dt.date,
    periods: list[series.Period],
    smooth: bool,
) -> list[float | None]:
    """One value per period; None where the package holds no data for the whole period.

    `filled` is the package's series zero-filled from `fill_start` (the window start,
    or six days before it for a 7-day average) to the window end: built once per
    package, then summed by slices (a two-year daily comparison is 8,000 values).
    A period (cut to the window) that reaches outside [first_date, latest_date] is None:
    before first_date nothing is known, and a package refreshed a day late would
    otherwise look like it collapsed. The 7-day average is trailing, as
    series.trailing_average: None until seven held days are behind the day.
    `held`: the package's (first_date, latest_date).
    """
    first, latest = held
    # Prefix sums: any run of days is then one subtraction.
    prefix = [0, *itertools.accumulate(filled)]
    values: list[float | None] = []
    for p in periods:
        start, end = max(p.start, window_start), min(p.end, window_end)
        offset = (start - fill_start).days
        if smooth:
            if start > latest or start - dt.timedelta(days=SMOOTH_DAYS - 1) < first:
                values.append(None)
            else:
                total = prefix[offset + 1] - prefix[offset + 1 - SMOOTH_DAYS]
                values.append(round(total / SMOOTH_DAYS, 1))
        elif start < first or end > latest:
            values.append(None)
        else:
            values.append(float(prefix[offset + (end - start).days + 1] - prefix[offset]))
    return values


def _percentages(
    columns: dict[str, list[float | None]], totals: list[float | None]
) -> dict[str, list[float | None]]:
    return {
        name: [
            None if v is None or not totals[i] else percentage(v, totals[i] or 1)
            for i, v in enumerate(values)
        ]
        for name, values in columns.items()
    }


def _recent(points: dict[dt.date, int], package: Package | LivePackage) -> dict[str, int | None]:
    """Last day, 7 and 30 days ending at the package's latest date held (None: not held)."""
    first, latest = first_held(package), package.latest_date
    assert first is not None and latest is not None
    return recent_sums(points, first, latest)


def recent_sums(
    points: dict[dt.date, int], first: dt.date, latest: dt.date
) -> dict[str, int | None]:
    """Last day, 7 and 30 days ending at `latest` (None: fewer days held since `first`)."""
    held = (latest - first).days + 1

    def last(n: int) -> int | None:
        if held < n:
            return None
        return sum(points.get(latest - dt.timedelta(days=i), 0) for i in range(n))

    return {"last_day": last(1), "last_week": last(7), "last_month": last(30)}


def _cache_key(
    options: CompareOptions, with_data: list[Package | LivePackage], all_pypi: Package | None
) -> str:
    parts = [options.cache_key]
    for package in [*with_data, *([all_pypi] if all_pypi else [])]:
        parts.append(
            f"{package.pk}:{package.name}:{package.data_version}:{first_held(package)}:{package.latest_date}"
        )
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
    return f"compare:v1:{digest}"


def compare_payload(
    options: CompareOptions,
    packages: dict[str, Package],
    live: Mapping[str, LivePackage] | None = None,
) -> dict[str, Any] | None:
    """Chart datasets and table stats of the packages that hold data; None when none does.

    Reads every compared series (and `__all__` for share_pypi) in ONE query, whatever
    the number of packages and the length of the range; cached by data_version. `live`:
    untracked packages read from ClickHouse instead (pages/live.py, cached there too); one
    whose series ClickHouse does not answer is left out, and the payload is not cached.
    """
    live = live or {}
    with_data: list[Package | LivePackage] = []
    for name in options.packages:
        held = packages.get(name)
        # Read live when the store cannot show it yet (pages/live.reads_live), else stored.
        if name in live:
            with_data.append(live[name])
        elif held is not None and held.has_data and first_held(held):
            with_data.append(held)
    if not with_data:
        return None
    all_pypi = packages.get(ALL_PACKAGES) if options.mode == "share_pypi" else None
    if all_pypi is not None and not all_pypi.has_data:
        all_pypi = None
    first = min(d for d in map(first_held, with_data) if d)
    latest = max(p.latest_date for p in with_data if p.latest_date)
    chart = options.chart
    window = chart.window(first, latest)
    if window is None:
        return None
    key = _cache_key(options, with_data, all_pypi)
    cached = soft_cache.get(key)
    if cached is not None:
        return with_markers(dict(cached))

    smooth = chart.smoothing_applies
    agg = chart.shown_agg
    fetch_start = window.start - dt.timedelta(days=SMOOTH_DAYS - 1) if smooth else window.start
    recent_start = min(p.latest_date for p in with_data if p.latest_date) - dt.timedelta(days=29)
    spans = [(fetch_start, window.end), (recent_start, latest)]
    stored = [p for p in with_data if isinstance(p, Package)] + ([all_pypi] if all_pypi else [])
    by_id = compare_points(
        package_ids=[p.pk for p in stored],
        metric=options.metric,
        category=options.category,
        spans=spans,
    )
    # Keyed by name: an untracked package has no id.
    points = {p.name: by_id[p.pk] for p in stored}
    unanswered = []
    for package in with_data:
        if isinstance(package, LivePackage):
            try:
                points[package.name] = package.points(options.metric, options.category, spans)
            except ClickHouseError as exc:
                # Charted without it (the page says ClickHouse is not answering), not cached.
                logger.warning("ClickHouse could not answer for %s: %s", package.name, exc)
                unanswered.append(package)
    with_data = [p for p in with_data if p not in unanswered]
    if not with_data:
        return None
    periods = series.periods(window.start, window.end, agg)
    fill_dates = list(series.days(fetch_start, window.end))
    filled = {name: [days.get(day, 0) for day in fill_dates] for name, days in points.items()}

    def values_of(package: Package | LivePackage) -> list[float | None]:
        first = first_held(package)
        assert first is not None and package.latest_date is not None
        return _period_values(
            filled[package.name],
            fetch_start,
            (first, package.latest_date),
            window.start,
            window.end,
            periods,
            smooth,
        )

    absolute: dict[str, list[float | None]] = {p.name: values_of(p) for p in with_data}

    stats: list[dict[str, Any]] = []
    range_totals: dict[str, int] = {}
    for package in with_data:
        held_from = first_held(package)
        assert held_from is not None and package.latest_date is not None
        start, end = max(window.start, held_from), min(window.end, package.latest_date)
        summ = series.summary(points[package.name], start, end)
        range_totals[package.name] = summ.total
        stats.append(
            {
                "name": package.name,
                "first_date": held_from.isoformat(),
                "latest_date": package.latest_date.isoformat(),
                **_recent(points[package.name], package),
                "total": summ.total,
                "days": summ.days,
                "growth_pct": summ.growth_pct,
                "week_over_week_pct": summ.week_over_week_pct,
                "last_complete_week": summ.last_week,
                "previous_week": summ.previous_week,
                "share_pct": None,
            }
        )

    all_pypi_info: dict[str, Any] = {"needed": options.mode == "share_pypi", "held": False}
    if options.mode == "absolute":
        columns = absolute
    elif options.mode == "share":
        totals: list[float | None] = [
            sum(v for v in (absolute[n][i] for n in absolute) if v is not None)
            for i in range(len(periods))
        ]
        columns = _percentages(absolute, totals)
        grand = sum(range_totals.values())
        for row in stats:
            row["share_pct"] = percentage(row["total"], grand)
    else:
        if all_pypi is not None:
            all_values = values_of(all_pypi)
            all_pypi_info.update(
                held=True,
                first_date=all_pypi.first_date.isoformat() if all_pypi.first_date else None,
                latest_date=all_pypi.latest_date.isoformat() if all_pypi.latest_date else None,
            )
            for row in stats:
                start = max(window.start, dt.date.fromisoformat(row["first_date"]))
                end = min(window.end, dt.date.fromisoformat(row["latest_date"]))
                if all_pypi.first_date and all_pypi.latest_date:
                    start = max(start, all_pypi.first_date)
                    end = min(end, all_pypi.latest_date)
                pypi_total = sum(points[all_pypi.name].get(d, 0) for d in series.days(start, end))
                own = points[row["name"]]
                mine = sum(own.get(d, 0) for d in series.days(start, end))
                row["share_pct"] = percentage(mine, pypi_total)
        else:
            all_values = [None] * len(periods)
        columns = _percentages(absolute, all_values)

    payload: dict[str, Any] = {
        "packages": [p.name for p in with_data],
        "metric": options.metric_slug,
        "category": options.category,
        "category_label": category_label(options.metric, options.category, standalone=True),
        "mode": options.mode,
        "unit": options.unit,
        "window": window.as_payload(),
        "options": chart.as_payload(),
        "periods": series.periods_payload(periods),
        "datasets": [
            {"key": name, "label": name, "data": json_numbers(columns[name])} for name in columns
        ],
        "stats": stats,
        "all_pypi": all_pypi_info,
    }
    if not unanswered:
        soft_cache.set(key, payload, CACHE_SECONDS)
    return with_markers(payload)


def table_html(payload: dict[str, Any]) -> SafeString:
    """The chart's numbers as the no-JS data table: one column per package."""
    return data_table(
        payload["periods"],
        payload["options"]["agg"],
        payload["datasets"],
        chart_id="compare",
        percent=payload["unit"] == "percent",
        percent_decimals=PERCENT_DECIMALS,
        label_class="num mono",
    )


# --- controls ------------------------------------------------------------------------------------


def compare_url(options: CompareOptions, **overrides: Any) -> str:
    """The compare page's URL for these options, with `overrides` changed."""
    return reverse("compare") + options.querystring(**overrides)


def controls(options: CompareOptions) -> dict[str, list[Control]]:
    """Metric and mode, then the chart controls every chart page has, as links."""

    def href(**change: Any) -> str:
        return compare_url(options, **change)

    metrics = [
        control_link(
            METRIC_LABELS[m], href(metric=m), current=not options.breakdown and options.metric == m
        )
        for m in Metric
    ]
    if breakdowns_offered():
        metrics += [
            control_link(BREAKDOWN_LABELS[k], href(metric=k), current=options.breakdown is k)
            for k in Kind
        ]
    mode_labels = BREAKDOWN_MODE_LABELS if options.breakdown else MODE_LABELS
    return {
        "metric": metrics,
        "mode": [
            control_link(label, href(mode=mode), current=options.mode == mode)
            for mode, label in mode_labels.items()
        ],
        **control_links(options.chart, href),
    }


def describe_period(options: CompareOptions, payload: dict[str, Any] | None) -> str:
    """ "last 365 days", "2024-01-01 to 2024-03-31": for the title and the share description."""
    chart = options.chart
    if chart.custom_dates:
        if payload is not None:
            return f"{payload['window']['start']} to {payload['window']['end']}"
        return f"{chart.start or '…'} to {chart.end or '…'}"
    if chart.range == "all":
        return "all history held"
    return f"last {chart.range} days"


def describe(options: CompareOptions, payload: dict[str, Any] | None) -> str:
    """e.g. "django vs flask — weekly downloads, last 365 days"."""
    names = " vs ".join(options.packages) or "Compare packages"
    agg = (
        "daily (7-day average)"
        if options.chart.smoothing_applies
        else {
            "day": "daily",
            "week": "weekly",
            "month": "monthly",
        }[options.chart.agg]
    )
    what = {
        "absolute": "downloads",
        "share": "share of downloads",
        "share_pypi": "share of all PyPI downloads",
    }[options.mode]
    if options.breakdown:
        what = "downloads" if options.mode == "absolute" else "share of each package's downloads"
    detail = ""
    if (
        options.breakdown
        or options.metric != DEFAULT_METRIC
        or options.category != options.default_category
    ):
        detail = f" ({options.category_label})"
    return f"{names} — {agg} {what}{detail}, {describe_period(options, payload)}"

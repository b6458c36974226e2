"""The package page's breakdown sections: versions, installers, countries (issue #16).

Each section is its own HTMX partial (loaded when it scrolls into view, a plain link
without JavaScript), drawn by the ONE chart layer (pages/chart.py: periods, tables,
json_script, controls; static/js/charts.js reads a canvas's payload from the element its
`data-payload` names). The data comes from history/breakdown_selectors.py (ClickHouse,
cached by package, options and ClickHouse's latest day); the section bundle is cached
under the same key, so a warm section does no series work.

Options: the chart pages' own (`range`, `start`, `end`, `agg`, `smooth`, `scale`: pages/
options.py) plus `mode` (`absolute`, `share`) and, on versions, `grouping` (`exact`,
`minor`, `major`). `parse_breakdown_options` reads them; OptionsError lists what is wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from packages_app import series, soft_cache
from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import OTHER, Dates, Grouping, Kind
from packages_app.history.client import enabled
from packages_app.history.live import source_key
from packages_app.names import ALL_PACKAGES
from packages_app.pages.chart import (
    CACHE_SECONDS,
    Control,
    control_link,
    data_script,
    data_table,
    json_numbers,
    percentage,
)
from packages_app.pages.options import (
    PACKAGE_DEFAULTS,
    ChartOptions,
    OptionsError,
    QueryLike,
    parse_options,
)
from packages_app.pages.package import PERCENT_DECIMALS, _values

MODES: tuple[str, ...] = ("absolute", "share")
MODE_LABELS = {"absolute": "Downloads", "share": "Share"}
GROUPING_LABELS = {
    Grouping.EXACT: "Exact",
    Grouping.MINOR: "Minor (2.3.*)",
    Grouping.MAJOR: "Major (2.*)",
}
DEFAULT_MODE = "absolute"
DEFAULT_GROUPING = Grouping.MINOR
# Countries in the ranking table (bars) and in the trend chart.
COUNTRY_TOP = 10
KIND_TITLES = {
    Kind.VERSIONS: "Versions",
    Kind.INSTALLERS: "Installers",
    Kind.COUNTRIES: "Countries",
}
KIND_DESCRIPTIONS = {
    Kind.VERSIONS: "Downloads by release over time, the biggest releases of the range and "
    "the rest as “other versions”: every download, mirrors included (ClickHouse).",
    Kind.INSTALLERS: "Downloads by installer (pip, uv, poetry, pdm, pipenv, conda and the "
    "rest), without mirrors (ClickHouse).",
    Kind.COUNTRIES: "Downloads by country over time, the biggest countries of the range and "
    "the rest as “other countries”: every download, mirrors included (ClickHouse).",
}


@dataclass(frozen=True)
class BreakdownOptions:
    chart: ChartOptions
    mode: str = DEFAULT_MODE
    grouping: Grouping = DEFAULT_GROUPING

    @property
    def share(self) -> bool:
        return self.mode == "share"

    def params(self, kind: Kind, **overrides: Any) -> list[tuple[str, str]]:
        """The non-default options, canonical order: the chart's, then mode and grouping."""
        mode = overrides.pop("mode", self.mode)
        grouping = Grouping(overrides.pop("grouping", self.grouping))
        pairs = self.chart.params(**overrides)
        if mode != DEFAULT_MODE:
            pairs.append(("mode", mode))
        if kind is Kind.VERSIONS and grouping is not DEFAULT_GROUPING:
            pairs.append(("grouping", grouping.value))
        return pairs

    def querystring(self, kind: Kind, **overrides: Any) -> str:
        pairs = self.params(kind, **overrides)
        return "?" + urlencode(pairs) if pairs else ""

    def cache_key(self, kind: Kind) -> str:
        return self.querystring(kind) or "-"


def parse_breakdown_options(query: QueryLike) -> BreakdownOptions:
    """The chart options (the package page's defaults) plus `mode` and `grouping`; raises
    OptionsError listing every invalid one."""
    errors: dict[str, str] = {}
    try:
        chart = parse_options(query, PACKAGE_DEFAULTS)
    except OptionsError as error:
        errors.update(error.errors)
        chart = parse_options({}, PACKAGE_DEFAULTS)
    mode = str(query.get("mode") or "").strip() or DEFAULT_MODE
    if mode not in MODES:
        errors["mode"] = f"must be one of {', '.join(MODES)}"
    raw_grouping = str(query.get("grouping") or "").strip() or DEFAULT_GROUPING.value
    try:
        grouping = Grouping(raw_grouping)
    except ValueError:
        errors["grouping"] = f"must be one of {', '.join(g.value for g in Grouping)}"
        grouping = DEFAULT_GROUPING
    if errors:
        raise OptionsError(errors)
    return BreakdownOptions(chart, mode, grouping)


def data_element_id(kind: Kind) -> str:
    """The id of a section's json_script element (canvas data-payload names it)."""
    return f"breakdown-{kind.value}-data"


def _ordered(kind: Kind, keys: Sequence[str], totals: dict[str, int]) -> list[str]:
    named = [k for k in keys if k != OTHER]
    if kind is Kind.VERSIONS:
        # Newest first reads best in a legend, like the Python versions.
        named.sort(key=lambda k: selectors.version_sort_key(k.removesuffix(".*")), reverse=True)
    elif kind is Kind.INSTALLERS:
        order = list(selectors.INSTALLER_CATEGORIES)
        named.sort(key=order.index)
    else:
        named.sort(key=lambda k: (-totals.get(k, 0), k))
    return named + ([OTHER] if OTHER in keys else [])


def build_section(
    name: str, held: Dates, kind: Kind, options: BreakdownOptions
) -> dict[str, Any] | None:
    """The section's payload, its json_script and tables, and its own figures (adoption,
    version table, country ranking); None when nothing is held in the window. Cached."""
    chart_options = options.chart
    window = chart_options.window(held.first, held.latest)
    if window is None:
        return None
    key = f"pkgbreak:v1:{source_key()}:{name}:{held.latest}:{kind.value}:{options.cache_key(kind)}"
    cached = soft_cache.get(key)
    if isinstance(cached, dict):
        return cached
    fetch_start = window.start
    if chart_options.smoothing_applies:
        fetch_start = max(held.first, window.start - dt.timedelta(days=6))
    top = COUNTRY_TOP if kind is Kind.COUNTRIES else selectors.DEFAULT_TOP
    data = selectors.series(
        name, held, kind, fetch_start, window.end, grouping=options.grouping, top=top
    )
    names = selectors.country_names() if kind is Kind.COUNTRIES else {}
    in_window = {
        k: sum(n for d, n in days.items() if window.start <= d <= window.end)
        for k, days in data.items()
    }
    keys = _ordered(kind, list(data), in_window)
    periods = series.periods(window.start, window.end, chart_options.shown_agg)
    columns: dict[str, list[int | float | None]] = {
        k: _values(data[k], window, chart_options, held.first, periods) for k in keys
    }
    if options.share:
        numeric = {k: [v or 0 for v in values] for k, values in columns.items()}
        columns = {
            k: [None if v is None else round(v, 2) for v in values]
            for k, values in series.shares(numeric).items()
        }
    chart: dict[str, Any] = {
        "id": kind.value,
        "title": KIND_TITLES[kind] + (": share" if options.share else ""),
        "description": KIND_DESCRIPTIONS[kind],
        "metric": kind.value,
        "share": options.share,
        "datasets": [
            {"key": k, "label": selectors.label(kind, k, names), "data": json_numbers(columns[k])}
            for k in keys
        ],
    }
    whole = sum(in_window.values())
    payload: dict[str, Any] = {
        "package": name,
        "kind": kind.value,
        "window": window.as_payload(),
        "options": {
            **chart_options.as_payload(),
            "mode": options.mode,
            "grouping": options.grouping.value if kind is Kind.VERSIONS else None,
        },
        "periods": series.periods_payload(periods),
        "charts": [chart],
        "markers": [],
        "totals": {k: in_window[k] for k in keys},
        "total": whole,
    }
    bundle: dict[str, Any] = {
        "payload": payload,
        "data_script": data_script(payload, data_element_id(kind)),
        "table": data_table(
            payload["periods"],
            payload["options"]["agg"],
            chart["datasets"],
            chart_id=kind.value,
            percent=options.share,
            percent_decimals=PERCENT_DECIMALS,
        ),
        "ranking": [
            {
                "key": k,
                "label": selectors.label(kind, k, names),
                "downloads": in_window[k],
                "share": percentage(in_window[k], whole) if whole else None,
            }
            for k in sorted(keys, key=lambda k: (k == OTHER, -in_window[k], k))
        ],
    }
    if kind is Kind.VERSIONS:
        bundle["adoption"] = selectors.adoption(name, held)
        versions = selectors.version_table(name, held)
        bundle["version_count"] = len(versions)
        bundle["version_table"] = version_table_html(versions)
    soft_cache.set(key, bundle, CACHE_SECONDS)
    return bundle


NO_DOWNLOADS_YET = '<span class="muted">no downloads recorded yet</span>'


def version_table_html(rows: Sequence[selectors.VersionRow]) -> SafeString:
    """Every version with its release day and all-time downloads, as the page shows it.

    Built here, like chart.data_table, not in a template: django has ~300 versions and a
    template loop over them was most of a warm section's time. Versions are escaped; the
    other cells are dates and digits.
    """
    parts = [
        "<table data-versions><thead><tr><th>Version</th><th>Released</th>"
        '<th class="num">All-time downloads</th></tr></thead><tbody>'
    ]
    for row in rows:
        released = row.released.isoformat() if row.released else '<span class="muted">—</span>'
        downloads = NO_DOWNLOADS_YET if row.downloads is None else f"{row.downloads:,}"
        parts.append(
            f'<tr><td class="mono">{escape(row.version)}<td>{released}<td class="num">{downloads}'
        )
    parts.append("</tbody></table>")
    return mark_safe("".join(parts))  # noqa: S308 (versions escaped; the rest is ours)


def section_controls(
    kind: Kind, options: BreakdownOptions, href: Callable[[str], str]
) -> dict[str, list[Control]]:
    """The section's own controls (mode, grouping) as links; `href(querystring)` builds one."""

    def link(label: str, current: bool, **change: Any) -> Control:
        return control_link(
            label, href(options.querystring(kind, **change) or "?"), current=current
        )

    controls = {
        "mode": [link(MODE_LABELS[m], options.mode == m, mode=m) for m in MODES],
    }
    if kind is Kind.VERSIONS:
        controls["grouping"] = [
            link(GROUPING_LABELS[g], options.grouping is g, grouping=g) for g in Grouping
        ]
    return controls


def breakdown_slots(name: str, options: ChartOptions) -> list[dict[str, str]]:
    """The package page's placeholders for its sections (loaded lazily; each a link to the
    section's own page): none when ClickHouse is off or for PyPI's total. `options`: the
    page's, so a section opens on the page's range."""
    if not enabled() or name == ALL_PACKAGES:
        return []
    querystring = options.querystring()
    return [
        {
            "kind": kind.value,
            "title": KIND_TITLES[kind],
            "description": KIND_DESCRIPTIONS[kind],
            "url": reverse("package-breakdown", args=[name, kind.value]) + querystring,
        }
        for kind in Kind
    ]

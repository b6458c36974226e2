"""The chart layer both chart pages draw from: the package page (pages/package.py) and
the compare page (pages/compare.py) build their own payloads, and everything they
share lives here:

- the smoothing window and how long a payload is cached;
- category labels;
- payload pieces: numbers as JSON wants them, data-quality markers, the json_script
  element the chart module (static/js/charts.js) reads;
- the no-JS data table of a chart;
- the option controls (range, per, smoothing, scale) as links.

Pure: no database reads but the markers', no request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.utils.html import escape, json_script
from django.utils.safestring import SafeString, mark_safe

from packages_app.categories import UNKNOWN
from packages_app.models import Metric
from packages_app.pages.options import RANGES, ChartOptions
from packages_app.sync import quality

# The 7-day average: a trailing mean over this many days (docs/decisions.md).
SMOOTH_DAYS = 7
# Payloads are cached under data_version, so this only bounds how long an unused one stays.
CACHE_SECONDS = 24 * 3600

# --- labels --------------------------------------------------------------------------------------

CATEGORY_LABELS: dict[str, str] = {
    "without_mirrors": "Without mirrors",
    "with_mirrors": "With mirrors",
    UNKNOWN: "unknown",
}
_PYTHON_METRICS = (Metric.PYTHON_MAJOR, Metric.PYTHON_MINOR)


def category_label(metric: Metric, name: str, *, standalone: bool = False) -> str:
    """How a category reads: "Without mirrors", "unknown", "3.12".

    `standalone`: the label is read on its own, not under a chart titled with its metric
    (the compare page's category), so a Python version says so: "Python 3.12".
    """
    if standalone and metric in _PYTHON_METRICS and name != UNKNOWN:
        return f"Python {name}"
    return CATEGORY_LABELS.get(name, name)


RANGE_LABELS: dict[str, str] = {
    "30": "30 days",
    "90": "90 days",
    "180": "180 days",
    "365": "1 year",
    "730": "2 years",
    "1825": "5 years",
    "all": "All",
}
AGG_LABELS: dict[str, str] = {"day": "Daily", "week": "Weekly", "month": "Monthly"}
SCALE_LABELS: dict[str, str] = {"linear": "Linear", "log": "Log"}
# The first column of a data table, per aggregation.
PERIOD_HEADERS: dict[str, str] = {"day": "Day", "week": "Week of", "month": "Month"}

# --- payload pieces ------------------------------------------------------------------------------

# The id of the json_script element a chart page hands its payload to the browser in.
DATA_ELEMENT_ID = "chart-data"


def json_numbers(values: Sequence[int | float | None]) -> list[int | float | None]:
    """Whole numbers as ints (smaller JSON, exact CSV), the rest as they are."""
    return [
        int(v) if type(v) is float and v.is_integer() else v  # noqa: E721 (bool is not a float)
        for v in values
    ]


# Percentages keep this many significant digits, not a fixed number of decimals: a share of
# all PyPI (~1.6 billion downloads a day) is 0.00003 % for a package with 500 a day, which
# four decimals round to 0, and a zero vanishes from a log-scale chart.
PERCENT_DIGITS = 4


def percentage(part: float, whole: float) -> float | None:
    """100 * part / whole to PERCENT_DIGITS significant digits (None when whole is 0)."""
    if not whole:
        return None
    return float(f"{100.0 * part / whole:.{PERCENT_DIGITS}g}")


def with_markers(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with the data-quality markers of its window (`payload["window"]`).

    Markers depend on site-wide data, not on any package's data_version, so the pages
    add them outside their payload cache (quality.py caches its own).
    """
    window = payload["window"]
    payload["markers"] = quality.markers_between(
        dt.date.fromisoformat(window["start"]), dt.date.fromisoformat(window["end"])
    )
    return payload


def data_script(payload: Mapping[str, Any], element_id: str = DATA_ELEMENT_ID) -> SafeString:
    """The payload as the `<script type="application/json">` the chart module reads, less
    the datasets' numbers: those are in the page once, in the data tables (`data_table`),
    which the chart module reads them from. Sending them twice made half the package page.

    json_script escapes <, > and & so the JSON cannot end the element; htmx leaves a
    non-JavaScript <script> of a swapped partial as it is (docs/decisions.md).
    `element_id`: another element's, for a section loaded on its own (a canvas names it in
    data-payload).
    """
    return json_script(_without_numbers(payload), element_id)


def _without_numbers(payload: Mapping[str, Any]) -> dict[str, Any]:
    def strip(datasets: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in ds.items() if k != "data"} for ds in datasets]

    page = dict(payload)
    if "charts" in page:
        page["charts"] = [{**c, "datasets": strip(c["datasets"])} for c in page["charts"]]
    if "datasets" in page:
        page["datasets"] = strip(page["datasets"])
    periods = page.get("periods")
    if periods is not None and page.get("options", {}).get("agg") != "week":
        # The chart module reads a period's end only to title a week ("Week of … to …");
        # elsewhere the ends would repeat the labels (~2.5 KB on a 180-day page).
        page["periods"] = {key: value for key, value in periods.items() if key != "ends"}
    return page


# --- the no-JS data table ------------------------------------------------------------------------


def cell(value: int | float | None, *, percent: bool, percent_decimals: int) -> str:
    """One formatted number: "12,345", "1,234.5", "12.3%", or "—" where nothing is held.

    A percentage keeps at least PERCENT_TABLE_DIGITS significant digits ("0.0291%",
    "0.0000313%"): a share of all PyPI is small, not nothing, and the chart reads its
    numbers from this table.
    """
    if value is None:
        return "—"
    if percent:
        return f"{value:.{max(percent_decimals, _decimals_for(value))}f}%"
    if type(value) is int or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


# Significant digits a table's percentage keeps at the least.
PERCENT_TABLE_DIGITS = 3


def _decimals_for(value: float) -> int:
    """Decimals that show PERCENT_TABLE_DIGITS significant digits of a number below 1
    (no "e-05"); 0 for zero and for numbers of 1 and more (their decimals are the page's)."""
    if not value or abs(value) >= 1:
        return 0
    digits = 0
    while abs(value) * 10**digits < 10 ** (PERCENT_TABLE_DIGITS - 1):
        digits += 1
    return digits


def data_table(
    periods: Mapping[str, Sequence[Any]],
    agg: str,
    datasets: Sequence[Mapping[str, Any]],
    *,
    chart_id: str,
    percent: bool,
    percent_decimals: int,
    label_class: str = "num",
) -> SafeString:
    """A chart's numbers as an HTML table: shown without JavaScript, one click away with
    it, and where the chart module reads the chart's numbers from (`data-chart-table`).

    One row per period, one column per dataset. Built here rather than in a template: a
    template loop over thousands of cells (a two-year daily comparison is 7,300) costs
    hundreds of milliseconds; this costs a few. Compact on purpose (it is most of the
    package page's bytes): no attribute on a cell (CSS right-aligns the numbers) and no
    `</td>`/`</tr>`, which HTML lets a table leave out. Dataset labels and period labels
    are escaped; every cell comes from `cell` (digits, separators, ".", "%" or "—" only).
    `percent_decimals`: each page's own.
    """
    head = "".join(f'<th class="{label_class}">{escape(ds["label"])}</th>' for ds in datasets)
    parts = [
        f'<table data-chart-table="{escape(chart_id)}"><thead><tr>'
        f"<th>{PERIOD_HEADERS[agg]}</th>{head}</tr></thead><tbody>"
    ]
    partial = periods["partial"]
    columns = [ds["data"] for ds in datasets]
    for i, label in enumerate(periods["labels"]):
        mark = ' <span class="muted">(partial)</span>' if partial[i] else ""
        cells = "".join(
            f"<td>{cell(column[i], percent=percent, percent_decimals=percent_decimals)}"
            for column in columns
        )
        parts.append(f"<tr><td>{escape(label)}{mark}{cells}")
    parts.append("</tbody></table>")
    return mark_safe("".join(parts))  # noqa: S308 (labels escaped; cells are ours)


# --- controls ------------------------------------------------------------------------------------

Control = dict[str, Any]  # {"label", "href", "current", "disabled"}

# Why the 7-day average is offered only on daily charts (shown next to the control).
SMOOTH_DAILY_ONLY = "The 7-day average smooths daily charts only: choose Daily to use it."


def control_link(label: str, href: str, *, current: bool, disabled: str = "") -> Control:
    """One control: a link to the page with one option changed (`current`: it is the one
    shown). `disabled`: why it cannot be used here; it is then shown, not linked."""
    return {"label": label, "href": href, "current": current, "disabled": disabled}


def control_links(options: ChartOptions, href: Callable[..., str]) -> dict[str, list[Control]]:
    """The range, per, smoothing and scale controls as links: each one the page's URL
    with that option changed (`href(**change)` builds it; a page adds its own options)."""

    def link(label: str, current: bool, disabled: str = "", **change: Any) -> Control:
        return control_link(label, href(**change), current=current, disabled=disabled)

    # Weekly and monthly sums are smooth already: the average would change nothing, so
    # the control says why it is off instead of being a link that does nothing.
    no_smoothing = "" if options.agg == "day" else SMOOTH_DAILY_ONLY

    return {
        "range": [
            link(
                RANGE_LABELS[value],
                not options.custom_dates and options.range == value,
                range=value,
            )
            for value in RANGES
        ],
        "agg": [
            link(label, options.agg == value, agg=value) for value, label in AGG_LABELS.items()
        ],
        "smooth": [
            link("Off", not options.smoothing_applies, smooth=False),
            link("7-day average", options.smoothing_applies, no_smoothing, smooth=True),
        ],
        "scale": [
            link(label, options.scale == value, scale=value)
            for value, label in SCALE_LABELS.items()
        ],
    }

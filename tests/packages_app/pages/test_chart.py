"""The chart layer both chart pages share (packages_app/pages/chart.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from packages_app.models import Metric
from packages_app.pages.chart import (
    SMOOTH_DAILY_ONLY,
    category_label,
    cell,
    control_links,
    data_script,
    data_table,
    json_numbers,
    percentage,
)
from packages_app.pages.options import COMPARE_DEFAULTS, parse_options
from tests.packages_app.pages.page_payload import SCRIPT


def test_json_numbers_turn_whole_floats_into_ints() -> None:
    assert json_numbers([1.0, 2.5, None, 3, 0.0]) == [1, 2.5, None, 3, 0]
    assert [type(v) for v in json_numbers([1.0, 2.5])] == [int, float]


@pytest.mark.parametrize(
    ("metric", "name", "standalone", "label"),
    [
        (Metric.OVERALL, "without_mirrors", False, "Without mirrors"),
        (Metric.OVERALL, "with_mirrors", True, "With mirrors"),
        (Metric.PYTHON_MINOR, "3.12", False, "3.12"),
        (Metric.PYTHON_MINOR, "3.12", True, "Python 3.12"),
        (Metric.PYTHON_MAJOR, "3", True, "Python 3"),
        (Metric.PYTHON_MAJOR, "null", True, "unknown"),
        (Metric.SYSTEM, "null", False, "unknown"),
        (Metric.SYSTEM, "Linux", True, "Linux"),
        (Metric.SYSTEM, "other", False, "other"),
    ],
)
def test_category_label(metric: Metric, name: str, standalone: bool, label: str) -> None:
    assert category_label(metric, name, standalone=standalone) == label


@pytest.mark.parametrize(
    ("value", "percent", "decimals", "text"),
    [
        (None, False, 1, "—"),
        (None, True, 4, "—"),
        (1234567, False, 1, "1,234,567"),
        (1234.0, False, 1, "1,234"),
        (1234.56, False, 1, "1,234.6"),
        (12.345, True, 1, "12.3%"),
        (12, True, 1, "12.0%"),
        (0.00123, True, 4, "0.00123%"),
        (25, True, 4, "25.0000%"),
    ],
)
def test_cell(value: Any, percent: bool, decimals: int, text: str) -> None:
    assert cell(value, percent=percent, percent_decimals=decimals) == text


PERIODS: dict[str, list[Any]] = {
    "labels": ["2026-11-09", "2026-11-16"],
    "ends": ["2026-11-15", "2026-11-22"],
    "partial": [False, True],
}


def test_data_table_one_row_per_period_one_column_per_dataset() -> None:
    datasets: list[dict[str, Any]] = [
        {"label": "<b>django</b>", "data": [1000, 2000.5]},
        {"label": "flask", "data": [None, 7]},
    ]
    table = data_table(
        PERIODS, "week", datasets, chart_id="overall", percent=False, percent_decimals=1
    )
    assert table.startswith('<table data-chart-table="overall"><thead><tr><th>Week of</th>')
    assert '<th class="num">&lt;b&gt;django&lt;/b&gt;</th><th class="num">flask</th>' in table
    # Compact: no class per cell, no end tags HTML lets a table leave out.
    assert "<tr><td>2026-11-09<td>1,000<td>—<tr>" in table
    assert '<tr><td>2026-11-16 <span class="muted">(partial)</span><td>2,000.5<td>7</tbody>' in (
        table
    )
    assert table.endswith("</tbody></table>")


def test_data_table_percentages_with_each_pages_precision() -> None:
    datasets = [{"label": "3.12", "data": [12.34, 0.0012]}]
    one = data_table(PERIODS, "day", datasets, chart_id="a", percent=True, percent_decimals=1)
    four = data_table(
        PERIODS,
        "month",
        datasets,
        chart_id="b",
        percent=True,
        percent_decimals=4,
        label_class="num mono",
    )
    # 0.0012 % is small, not nothing: three significant digits rather than "0.0%".
    assert "<th>Day</th>" in one and "<td>12.3%" in one and "<td>0.00120%" in one
    assert "<th>Month</th>" in four and '<th class="num mono">3.12</th>' in four
    assert "<td>12.3400%" in four and "<td>0.00120%" in four


def test_the_page_json_leaves_the_numbers_to_the_tables() -> None:
    payload: dict[str, Any] = {
        "charts": [{"id": "overall", "datasets": [{"key": "a", "label": "A", "data": [1, 2]}]}],
        "periods": PERIODS,
    }
    script = data_script(payload)
    assert '"label": "A"' in script and '"data"' not in script
    # The payload itself (cached, exported) keeps them.
    assert payload["charts"][0]["datasets"][0]["data"] == [1, 2]


def test_control_links_use_the_pages_href_and_mark_the_current_option() -> None:
    options = parse_options({"range": "90", "scale": "log"}, COMPARE_DEFAULTS)
    controls = control_links(options, lambda **change: f"/x?{sorted(change.items())}")
    assert list(controls) == ["range", "agg", "smooth", "scale"]
    assert [c["label"] for c in controls["range"]] == [
        "30 days",
        "90 days",
        "180 days",
        "1 year",
        "2 years",
        "5 years",
        "All",
    ]
    assert [c["current"] for c in controls["range"]] == [
        False,
        True,
        False,
        False,
        False,
        False,
        False,
    ]
    assert controls["agg"][1] == {
        "label": "Weekly",
        "href": "/x?[('agg', 'week')]",
        "current": True,
        "disabled": "",
    }
    assert [c["current"] for c in controls["scale"]] == [False, True]
    assert [(c["label"], c["current"]) for c in controls["smooth"]] == [
        ("Off", True),
        ("7-day average", False),
    ]
    dated = parse_options({"start": "2026-01-01"}, COMPARE_DEFAULTS)
    assert not any(c["current"] for c in control_links(dated, lambda **change: "")["range"])


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (500, 1_600_000_000, 3.125e-05),  # a small package's share of all PyPI: not 0
        (1, 3, 33.33),
        (2, 3, 66.67),
        (3, 100, 3.0),
        (5, 0, None),
    ],
)
def test_percentage_keeps_significant_digits(part: int, whole: int, expected: float | None) -> None:
    assert percentage(part, whole) == expected


@pytest.mark.parametrize(
    ("value", "decimals", "text"),
    [
        (3.125e-05, 2, "0.0000313%"),
        (0.004, 2, "0.00400%"),
        (0.0, 2, "0.00%"),
        (12.345, 2, "12.35%"),
        (0.04, 1, "0.0400%"),
        (0.2912, 2, "0.291%"),
    ],
)
def test_small_percentages_are_not_printed_as_zero(value: float, decimals: int, text: str) -> None:
    assert cell(value, percent=True, percent_decimals=decimals) == text


@pytest.mark.parametrize("agg", ["week", "month"])
def test_seven_day_average_is_disabled_with_a_reason_for_weekly_and_monthly(agg: str) -> None:
    options = parse_options({"agg": agg, "smooth": "7"}, COMPARE_DEFAULTS)
    off, average = control_links(options, lambda **change: "/x")["smooth"]
    assert average["disabled"] == SMOOTH_DAILY_ONLY and not average["current"]
    # The average does not apply, so "Off" is what is shown.
    assert off["current"] and not off["disabled"]


def test_seven_day_average_is_a_link_on_daily_charts() -> None:
    options = parse_options({"agg": "day"}, COMPARE_DEFAULTS)
    assert [c["disabled"] for c in control_links(options, lambda **change: "/x")["smooth"]] == [
        "",
        "",
    ]


@pytest.mark.parametrize(
    ("agg", "ends"), [("day", None), ("month", None), ("week", ["2024-01-07"])]
)
def test_the_page_json_keeps_period_ends_only_for_weeks(agg: str, ends: list[str] | None) -> None:
    payload = {
        "options": {"agg": agg},
        "periods": {"labels": ["2024-01-01"], "ends": ["2024-01-07"], "partial": [False]},
        "charts": [{"id": "overall", "datasets": [{"key": "a", "label": "A", "data": [7]}]}],
    }
    found = SCRIPT.search(data_script(payload))
    assert found is not None
    page = json.loads(found.group(1))
    assert page["periods"].get("ends") == ends
    assert page["periods"]["labels"] == ["2024-01-01"] and page["periods"]["partial"] == [False]
    assert page["charts"][0]["datasets"] == [{"key": "a", "label": "A"}]  # numbers in tables

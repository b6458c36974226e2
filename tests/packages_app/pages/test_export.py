from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import Client

from packages_app.models import Metric, Package
from tests.packages_app.pages.package_data import (
    CATEGORIES,
    daily_without_mirrors,
    make_package,
    value,
)

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def pkg() -> Package:
    return make_package("numpy", first=D(2024, 1, 1), latest=D(2024, 6, 30))


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def test_csv_has_exactly_the_chart_data(client: Client, pkg: Package) -> None:
    response = client.get("/packages/numpy/export.csv?range=90&agg=week")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="numpy-downloads-2024-04-02-to-2024-06-30-week.csv"'
    )
    rows = _rows(response.content)
    # Every series of the seed (tests/packages_app/pages/package_data.CATEGORIES), the
    # Python minor versions twice (downloads and share): 20 series, by hand.
    minors = {"3.8", "3.9", "3.10", "3.11", "3.12", "2.7"}
    expected_series = (
        {("overall", "with_mirrors"), ("overall", "without_mirrors")}
        | {("python_major", "3"), ("python_major", "2")}
        | {("python_minor", v) for v in minors}
        | {("python_minor_share", v) for v in minors}
        | {("system", os) for os in ("Linux", "Windows", "Darwin", "other")}
    )
    assert {(r["chart"], r["category"]) for r in rows} == expected_series
    # Weeks: the leading partial week (window starts Tue 2 April) is left out, the last
    # (Mon 24 .. Sun 30 June) is complete: the twelve Mondays from 8 April, in every series.
    mondays = [(D(2024, 4, 8) + dt.timedelta(weeks=n)).isoformat() for n in range(12)]
    assert mondays[-1] == "2024-06-24"
    for chart, category in expected_series:
        series = [r for r in rows if (r["chart"], r["category"]) == (chart, category)]
        assert [r["period_start"] for r in series] == mondays, (chart, category)
        assert {r["partial"] for r in series} == {"false"}
    assert len(rows) == 20 * 12
    # The values: the seed's own formula, summed over each week.
    overall = [r for r in rows if r["chart"] == "overall" and r["category"] == "without_mirrors"]
    for row in overall:
        start = D.fromisoformat(row["period_start"])
        week = [start + dt.timedelta(days=i) for i in range(7)]
        assert int(row["value"]) == sum(value(100, 10, day) for day in week)


def test_csv_marks_a_partial_last_period(client: Client, pkg: Package) -> None:
    rows = _rows(
        client.get("/packages/numpy/export.csv?start=2024-03-01&end=2024-05-15&agg=month").content
    )
    overall = [r for r in rows if r["chart"] == "overall" and r["category"] == "with_mirrors"]
    assert [(r["period_start"], r["period_end"], r["partial"]) for r in overall] == [
        ("2024-03-01", "2024-03-31", "false"),
        ("2024-04-01", "2024-04-30", "false"),
        ("2024-05-01", "2024-05-31", "true"),
    ]


def test_csv_with_smoothing_has_the_averages(client: Client, pkg: Package) -> None:
    response = client.get("/packages/numpy/export.csv?range=30&smooth=7")
    assert "-avg7.csv" in response["Content-Disposition"]
    rows = _rows(response.content)
    data = daily_without_mirrors(pkg)
    row = next(
        r
        for r in rows
        if r["chart"] == "overall"
        and r["category"] == "without_mirrors"
        and r["period_start"] == "2024-06-30"
    )
    expected = sum(data[D(2024, 6, 30) - dt.timedelta(days=i)] for i in range(7)) / 7
    assert float(row["value"]) == pytest.approx(expected, abs=0.05)


def test_json_export_holds_the_seeds_daily_values(client: Client, pkg: Package) -> None:
    response = client.get("/packages/numpy/export.json?range=30")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.json"')
    body = json.loads(response.content)
    june = [D(2024, 6, 1) + dt.timedelta(days=i) for i in range(30)]
    assert body["package"] == "numpy"
    assert [p["start"] for p in body["periods"]] == [day.isoformat() for day in june]
    charts = {chart["id"]: chart for chart in body["charts"]}
    assert set(charts) == {
        "overall",
        "python_major",
        "python_minor",
        "python_minor_share",
        "system",
    }
    # Downloads: the seed's formula, day by day, for every category of every metric.
    for metric, weights in CATEGORIES.items():
        series = {s["key"]: s["data"] for s in charts[metric.label]["series"]}
        assert series == {
            category: [value(100, weight, day) for day in june]
            for category, weight in weights.items()
        }
    # Shares: each minor version's part of the day's minor-version total, in percent.
    minor = CATEGORIES[Metric.PYTHON_MINOR]
    share = charts["python_minor_share"]
    assert share["unit"] == "percent"
    for s in share["series"]:
        expected = [
            100 * value(100, minor[s["key"]], day) / sum(value(100, w, day) for w in minor.values())
            for day in june
        ]
        assert s["data"] == pytest.approx(expected, abs=0.05), s["key"]
    # The CSV of the same window carries the same numbers.
    csv_rows = _rows(client.get("/packages/numpy/export.csv?range=30").content)
    linux = [r["value"] for r in csv_rows if (r["chart"], r["category"]) == ("system", "Linux")]
    assert linux == [str(value(100, 6, day)) for day in june]


def test_bad_options_are_a_400(client: Client, pkg: Package) -> None:
    response = client.get("/packages/numpy/export.csv?agg=fortnight")
    assert response.status_code == 400 and b"agg: must be one of" in response.content


def test_no_data_is_a_404(client: Client, pkg: Package) -> None:
    assert client.get("/packages/unknown/export.csv").status_code == 404
    assert (
        client.get("/packages/numpy/export.csv?start=2020-01-01&end=2020-02-01").status_code == 404
    )


def test_all_of_pypi_filename(client: Client) -> None:
    make_package("__all__", first=D(2024, 1, 1), latest=D(2024, 1, 31))
    response = client.get("/packages/__all__/export.csv?range=30")
    assert (
        'filename="all-pypi-downloads-2024-01-02-to-2024-01-31-day.csv"'
        in response["Content-Disposition"]
    )

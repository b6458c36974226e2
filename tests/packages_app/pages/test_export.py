from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from django.test import Client

from packages_app.models import Package
from packages_app.pages.options import parse_options
from packages_app.pages.package import chart_payload
from tests.packages_app.pages.package_data import daily_without_mirrors, make_package

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
    payload = chart_payload(pkg, parse_options({"range": "90", "agg": "week"}))
    assert payload is not None
    periods = payload["periods"]["labels"]
    expected_count = sum(len(c["datasets"]) for c in payload["charts"]) * len(periods)
    assert len(rows) == expected_count
    # Weeks: the leading partial week (window starts Tue 2 April) is left out,
    # the last one (Mon 24 .. Sun 30 June) is complete.
    overall = [r for r in rows if r["chart"] == "overall" and r["category"] == "without_mirrors"]
    assert [r["period_start"] for r in overall][0] == "2024-04-08"
    assert overall[-1]["period_start"] == "2024-06-24" and overall[-1]["partial"] == "false"
    data = daily_without_mirrors(pkg)
    for row in overall:
        start = D.fromisoformat(row["period_start"])
        assert int(row["value"]) == sum(data[start + dt.timedelta(days=i)] for i in range(7))


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


def test_json_export_matches_the_csv(client: Client, pkg: Package) -> None:
    response = client.get("/packages/numpy/export.json?range=30")
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.json"')
    body = json.loads(response.content)
    assert body["package"] == "numpy" and len(body["periods"]) == 30
    csv_rows = _rows(client.get("/packages/numpy/export.csv?range=30").content)
    for chart in body["charts"]:
        for series in chart["series"]:
            values = [
                r["value"]
                for r in csv_rows
                if r["chart"] == chart["id"] and r["category"] == series["key"]
            ]
            assert values == [str(v) for v in series["data"]]
    share = next(c for c in body["charts"] if c["id"] == "python_minor_share")
    assert share["unit"] == "percent"


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

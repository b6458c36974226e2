from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from pytest_django import Settings

from packages_app.models import Metric, Package
from packages_app.pages import selectors
from packages_app.pages.options import parse_options
from packages_app.pages.package import chart_payload
from packages_app.sync import quality
from tests.module_data import built_once, for_test
from tests.packages_app.pages.package_data import daily_without_mirrors, make_package, value
from tests.packages_app.pages.page_payload import chart_payload_of
from tests.stored_points import forget

pytestmark = pytest.mark.django_db

D = dt.date
HX = {"HX-Request": "true"}


@pytest.fixture(scope="module")
def _django_pkg_of_module(django_db_setup: None, django_db_blocker: Any) -> Iterator[Package]:
    yield from built_once(
        django_db_blocker,
        lambda: make_package("django", first=D(2024, 1, 1), latest=D(2024, 9, 30)),
    )


@pytest.fixture
def django_pkg(_django_pkg_of_module: Package, db: None, request: pytest.FixtureRequest) -> Package:
    """Nine months of data in every chart, written once per module (tests/module_data.py)."""
    return for_test(request, _django_pkg_of_module)


RANGES = ["30", "90", "180", "365", "all"]
AGGS = ["day", "week", "month"]
SMOOTHS = ["", "7"]
SCALES = ["linear", "log"]


@pytest.mark.parametrize(
    ("range_", "agg", "smooth", "scale"), list(itertools.product(RANGES, AGGS, SMOOTHS, SCALES))
)
def test_every_control_combination_renders(
    client: Client, django_pkg: Package, range_: str, agg: str, smooth: str, scale: str
) -> None:
    query = f"range={range_}&agg={agg}&smooth={smooth}&scale={scale}"
    page = client.get(f"/packages/django/?{query}")
    assert page.status_code == 200
    partial = client.get(f"/packages/django/?{query}", headers=HX)
    assert partial.status_code == 200
    body = partial.content.decode()
    assert body.lstrip().startswith('<section id="charts"')
    assert "<html" not in body
    # The data the charts get: the JSON embedded in the partial and the tables' numbers.
    payload = chart_payload_of(body)
    assert payload["options"]["scale"] == scale
    assert payload["options"]["agg"] == agg
    assert payload["options"]["smooth"] == (smooth == "7" and agg == "day")
    # Every chart has one value per period.
    length = len(payload["periods"]["labels"])
    assert length > 0
    for chart in payload["charts"]:
        for dataset in chart["datasets"]:
            assert len(dataset["data"]) == length


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("start=2024-03-01&end=2024-03-31", "2024-03-01", "2024-03-31"),
        ("start=2024-09-01", "2024-09-01", "2024-09-30"),
        ("end=2024-01-10", "2024-01-01", "2024-01-10"),
        ("start=2023-06-01&end=2024-01-05", "2024-01-01", "2024-01-05"),  # clipped to held
        ("start=2024-03-01&end=2024-03-31&agg=week&smooth=7&scale=log", "2024-03-01", "2024-03-31"),
    ],
)
def test_start_and_end(
    client: Client, django_pkg: Package, query: str, start: str, end: str
) -> None:
    response = client.get(f"/packages/django/?{query}")
    assert response.status_code == 200
    window = response.context["payload"]["window"]
    assert (window["start"], window["end"]) == (start, end)


def test_a_window_outside_the_history_says_so(client: Client, django_pkg: Package) -> None:
    response = client.get("/packages/django/?start=2020-01-01&end=2020-02-01")
    assert response.status_code == 200
    assert b"No data is held for django in that window" in response.content


@pytest.mark.parametrize(
    "query",
    [
        "range=7",
        "agg=year",
        "smooth=1",
        "scale=sqrt",
        "start=2024-02-30",
        "start=2024-05-01&end=2024-04-01",
    ],
)
def test_bad_values_give_400_never_500(client: Client, django_pkg: Package, query: str) -> None:
    page = client.get(f"/packages/django/?{query}")
    assert page.status_code == 400
    assert b"These options are not valid" in page.content
    assert b'id="chart-data"' in page.content  # the default view is still shown
    partial = client.get(f"/packages/django/?{query}", headers=HX)
    assert partial.status_code == 400
    assert b'role="alert"' in partial.content and b"<html" not in partial.content
    assert "HX-Request" in partial["Vary"]


def test_bad_values_on_a_package_without_data(client: Client) -> None:
    response = client.get("/packages/nothing-here/?range=2")
    assert response.status_code == 400
    assert b"is not tracked here" in response.content


def test_responses_vary_on_hx_request(client: Client, django_pkg: Package) -> None:
    assert "HX-Request" in client.get("/packages/django/")["Vary"]
    partial = client.get("/packages/django/?range=90", headers=HX)
    assert "HX-Request" in partial["Vary"]
    # The canonical URL is pushed, whatever spelling of the options came in.
    assert partial["HX-Push-Url"] == "/packages/django/?range=90"
    messy = client.get("/packages/django/?start=&end=&agg=day&range=90&scale=linear", headers=HX)
    assert messy["HX-Push-Url"] == "/packages/django/?range=90"


def test_history_restore_miss_gets_the_whole_page(client: Client, django_pkg: Package) -> None:
    response = client.get(
        "/packages/django/?range=90", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"<html" in response.content


def test_controls_are_real_links_with_htmx_attributes(client: Client, django_pkg: Package) -> None:
    body = client.get("/packages/django/?agg=week").content.decode()
    assert 'href="?range=90&amp;agg=week" hx-get="?range=90&amp;agg=week"' in body
    assert 'hx-target="#charts"' in body and 'hx-push-url="true"' in body
    # The current scale (linear, the default) is marked; its link keeps the other options.
    assert 'href="?agg=week" hx-get="?agg=week" aria-current="true">Linear</a>' in body
    assert 'href="?agg=week&amp;scale=log" hx-get="?agg=week&amp;scale=log">Log' in body


def test_non_canonical_name_redirects_permanently_keeping_the_query(
    client: Client, django_pkg: Package
) -> None:
    response = client.get("/packages/Django/?range=90&agg=week")
    assert response.status_code == 301
    assert response["Location"] == "/packages/django/?range=90&agg=week"
    make_package("zope-interface", first=D(2024, 1, 1), latest=D(2024, 1, 31))
    assert client.get("/packages/zope.interface/")["Location"] == "/packages/zope-interface/"
    assert client.get("/packages/Zope_Interface/export.csv?range=30")["Location"] == (
        "/packages/zope-interface/export.csv?range=30"
    )


@pytest.mark.parametrize("name", ["-bad", "bad-", "a b", "x" * 129, "foo%2Fbar", ".."])
def test_invalid_name_is_404(client: Client, name: str) -> None:
    assert client.get(f"/packages/{name}/").status_code == 404


def test_page_shows_stats_history_and_data_as_of(client: Client) -> None:
    make_package("requests", first=D(2024, 1, 1), latest=D(2024, 6, 30), recent=(11, 222, 3333))
    body = client.get("/packages/requests/").content.decode()
    assert "History since" in body and "1 Jan 2024" in body
    assert "Data as of" in body and "30 Jun 2024" in body
    assert ">3,333<" in body and ">222<" in body and ">11<" in body
    assert "synthetic" not in body.lower()


def test_recent_numbers_computed_when_upstream_has_no_recent_row(
    client: Client, django_pkg: Package
) -> None:
    data = daily_without_mirrors(django_pkg)
    last_week = sum(data[D(2024, 9, 30) - dt.timedelta(days=i)] for i in range(7))
    response = client.get("/packages/django/")
    recent = response.context["recent"]
    assert (recent.last_day, recent.last_week, recent.source) == (
        data[D(2024, 9, 30)],
        last_week,
        "computed",
    )


def test_synthetic_label_in_demo_mode(
    client: Client, django_pkg: Package, settings: Settings
) -> None:
    settings.DEMO_UPSTREAM = True
    body = client.get("/packages/django/").content.decode()
    assert "synthetic (demo)" in body and "Synthetic data" in body


def test_all_of_pypi(client: Client) -> None:
    make_package("__all__", first=D(2024, 1, 1), latest=D(2024, 3, 31), base=100000)
    response = client.get("/packages/__all__/")
    assert response.status_code == 200
    assert b"Downloads across all of PyPI" in response.content


def test_chart_payload_matches_the_stored_points(django_pkg: Package) -> None:
    options = parse_options({"start": "2024-03-04", "end": "2024-03-31", "agg": "week"})
    payload = chart_payload(django_pkg, options)
    assert payload is not None
    overall = next(c for c in payload["charts"] if c["id"] == "overall")
    without = next(d for d in overall["datasets"] if d["key"] == "without_mirrors")
    assert payload["periods"]["labels"] == ["2024-03-04", "2024-03-11", "2024-03-18", "2024-03-25"]
    # The seed's own formula (base 100, weight 10 for without_mirrors), summed by week.
    expected = [
        sum(value(100, 10, D(2024, 3, 4) + dt.timedelta(days=7 * w + i)) for i in range(7))
        for w in range(4)
    ]
    assert without["data"] == expected
    share = next(c for c in payload["charts"] if c["id"] == "python_minor_share")
    for i in range(4):
        assert sum(ds["data"][i] for ds in share["datasets"]) == pytest.approx(100, abs=0.05)


def test_zero_days_inside_the_history_are_zeros(client: Client) -> None:
    package = make_package("gappy", first=D(2024, 1, 1), latest=D(2024, 1, 31))
    forget(package, D(2024, 1, 15))
    payload = chart_payload(package, parse_options({"range": "all", "agg": "day"}))
    assert payload is not None
    index = payload["periods"]["labels"].index("2024-01-15")
    overall = payload["charts"][0]
    assert all(ds["data"][index] == 0 for ds in overall["datasets"])
    # Nothing is drawn before the first date held.
    assert payload["periods"]["labels"][0] == "2024-01-01"


def _count_queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _warm_quality_markers() -> None:
    """Suspect-day detection is cached per calendar year, site-wide (like "data as of"): warm
    it, so the counts compare the pages and not which request filled that cache first. Its
    own cold cost is constant too (tests/watchlists/test_quality.py)."""
    quality.markers_between(D(2021, 1, 1), D(2024, 12, 31))


def test_query_count_is_constant_whatever_the_history_length(
    client: Client, settings: Settings
) -> None:
    settings.PAGE_CACHE = False  # the render's own queries (a cached page reads one row)
    make_package("short", first=D(2024, 9, 1), latest=D(2024, 9, 30))
    make_package("long", first=D(2021, 10, 1), latest=D(2024, 9, 30))
    selectors.site_data_as_of()  # the footer's "data as of" is cached site-wide for a minute
    _warm_quality_markers()
    for query in ("", "?range=all&agg=week", "?range=all&agg=day&smooth=7", "?range=30"):
        short = _count_queries(client, f"/packages/short/{query}")
        long = _count_queries(client, f"/packages/long/{query}")
        assert short == long
        # package (+recent, +ClickHouse history), the four metrics in one query, the 30-day
        # facts query, the all-time total, and the data-quality markers' data version.
        assert long <= 5
    # Warm: the chart data comes from the cache.
    assert _count_queries(client, "/packages/long/?range=all&agg=week") == 1


def test_partial_query_count_is_constant(client: Client, settings: Settings) -> None:
    settings.PAGE_CACHE = False  # the render's own queries (a cached page reads one row)
    make_package("short", first=D(2024, 9, 1), latest=D(2024, 9, 30))
    make_package("long", first=D(2021, 10, 1), latest=D(2024, 9, 30))
    selectors.site_data_as_of()
    _warm_quality_markers()
    counts = []
    for name in ("short", "long"):
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/packages/{name}/?range=all&agg=month", headers=HX)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] == 3  # the package, the points, the markers' data version


@time_machine.travel(dt.datetime(2025, 11, 5, 12, tzinfo=dt.UTC), tick=False)
def test_python_support_panel_marks_end_of_life(client: Client) -> None:
    make_package("eol-check", first=D(2025, 9, 1), latest=D(2025, 11, 4))
    response = client.get("/packages/eol-check/")
    python = response.context["python"]
    versions = [v.version for v in python.versions]
    assert versions == ["2.7", "3.8", "3.9", "3.10", "3.11", "3.12"]  # numeric order
    eol = {v.version for v in python.versions if v.end_of_life}
    assert eol == {"2.7", "3.8", "3.9"}  # 3.9 ended on 2025-10-31
    assert python.eol_share_pct == pytest.approx(100 * python.eol_downloads / python.total)
    assert (python.start, python.end) == (D(2025, 10, 6), D(2025, 11, 4))
    body = response.content.decode()
    assert "of downloads come from end-of-life Pythons" in body
    assert "table as of" in body


@time_machine.travel(dt.datetime(2025, 10, 1, 12, tzinfo=dt.UTC), tick=False)
def test_python_support_before_an_end_of_life_date(client: Client) -> None:
    make_package("eol-check", first=D(2025, 8, 1), latest=D(2025, 9, 30))
    python = client.get("/packages/eol-check/").context["python"]
    assert {v.version for v in python.versions if v.end_of_life} == {"2.7", "3.8"}


# The shape of bench/package_page_load.py's package (bench/page_times.py): 18 categories,
# "null" (unknown) in three metrics, nine Python minors (folded to seven lines).
BENCH_CATEGORIES: dict[Metric, dict[str, int]] = {
    Metric.OVERALL: {"with_mirrors": 12, "without_mirrors": 10},
    Metric.PYTHON_MAJOR: {"3": 9, "2": 1, "null": 1},
    Metric.PYTHON_MINOR: {
        "2.7": 1,
        "3.7": 1,
        "3.8": 1,
        "3.9": 2,
        "3.10": 2,
        "3.11": 2,
        "3.12": 3,
        "3.13": 1,
        "null": 1,
    },  # fmt: skip
    Metric.SYSTEM: {"Linux": 6, "Windows": 2, "Darwin": 1, "other": 1, "null": 1},
}


def test_the_default_package_page_stays_under_80_kb_with_every_number_in_it(
    client: Client, db: None
) -> None:
    # Big numbers (a popular package: 6-7 digits a day in every category) make the widest
    # cells. 180 daily rows x 18 categories: 191 KB before #14 (the numbers were sent
    # twice, JSON and tables, in verbose markup), ~81 KB with all five tables in the page.
    big = make_package(
        "bigweight",
        first=D(2024, 1, 1),
        latest=D(2024, 9, 30),
        base=400_000,
        categories=BENCH_CATEGORIES,
    )
    response = client.get("/packages/bigweight/")
    assert response.status_code == 200
    assert len(response.content) <= 80_000, len(response.content)
    # The charts' numbers are all there, once: the first chart's in its table, the others'
    # in the payload (their tables are fetched when opened), exactly the stored ones.
    body = response.content.decode()
    shown = chart_payload_of(body)
    expected = chart_payload(big, parse_options({}))
    assert expected is not None
    assert body.count("data-chart-table=") == 1
    for drawn, held in zip(shown["charts"], expected["charts"], strict=True):
        if held["share"]:
            continue  # percentages: the table's digits (tested in test_chart.py)
        assert [d["data"] for d in drawn["datasets"]] == [d["data"] for d in held["datasets"]]


def _table_urls(body: str) -> dict[str, str]:
    """chart id -> the URL its <details> fetches its table from (hx-get == the no-JS link)."""
    found = {
        chart: html.unescape(url)
        for url, chart in re.findall(r'hx-get="(/packages/[^"]*/tables/([a-z_]+)/[^"]*)"', body)
    }
    for url in found.values():
        assert f'<a href="{html.escape(url)}">' in body  # the same table, as a page
    return found


def test_the_tables_below_the_first_chart_are_fetched_when_opened(
    client: Client, django_pkg: Package
) -> None:
    query = "?range=90&agg=week"
    page = client.get(f"/packages/django/{query}").content.decode()
    urls = _table_urls(page)
    assert set(urls) == {"python_major", "python_minor_share", "python_minor", "system"}
    assert 'data-chart-table="overall"' in page  # the first chart's table stays in the page
    assert 'hx-trigger="table-open once"' in page and 'hx-push-url="false"' in page
    payload = chart_payload_of(page)
    for chart in payload["charts"]:
        if chart["id"] == "overall":
            continue
        url = urls[chart["id"]]
        assert url == f"/packages/django/tables/{chart['id']}/{query}"
        # With htmx: the table alone, its numbers the payload's (percentages aside).
        partial = client.get(url, headers=HX)
        assert partial.status_code == 200 and "HX-Request" in partial["Vary"]
        fragment = partial.content.decode()
        assert fragment.startswith(f'<table data-chart-table="{chart["id"]}">')
        assert "<html" not in fragment
        rows = chart_payload_of(
            '<script id="chart-data" type="application/json">'
            + json.dumps({"charts": [{**chart, "datasets": strip_data(chart["datasets"])}]})
            + "</script>"
            + fragment
        )["charts"][0]["datasets"]
        if not chart["share"]:
            assert [r["data"] for r in rows] == [d["data"] for d in chart["datasets"]]
        assert [len(r["data"]) for r in rows] == [len(payload["periods"]["labels"])] * len(rows)
        # Without JavaScript: a page of its own with the same table and a way back.
        whole = client.get(url).content.decode()
        assert "<html" in whole and fragment in whole
        assert f"{chart['title']}: " in whole
        assert f'href="/packages/django/{html.escape(query)}#chart-{chart["id"]}"' in whole


def strip_data(datasets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in d.items() if k != "data"} for d in datasets]


def test_the_chart_partial_fetches_its_tables_with_its_options(
    client: Client, django_pkg: Package
) -> None:
    body = client.get("/packages/django/?range=30&smooth=7", headers=HX).content.decode()
    assert re.search(r"<details[^>]* open>", body) is None  # swapped in folded
    urls = _table_urls(body)
    assert urls["system"] == "/packages/django/tables/system/?range=30&smooth=7"
    table = client.get(urls["system"], headers=HX).content.decode()
    # Seven-day averages have decimals; 30 rows, one per day.
    assert table.count("<tr><td>") == 30


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/packages/django/tables/nope/", 404),
        ("/packages/django/tables/overall/?range=7", 400),
        ("/packages/django/tables/system/?start=2020-01-01&end=2020-02-01", 404),
        ("/packages/not-held/tables/system/", 404),
        ("/packages/Django/tables/system/?range=90", 301),
    ],
)
def test_a_table_that_cannot_be_shown_is_a_clear_4xx(
    client: Client, django_pkg: Package, url: str, status: int
) -> None:
    for headers in ({}, HX):
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, headers)
    if status == 301:
        assert response["Location"] == "/packages/django/tables/system/?range=90"
    if status == 400:
        assert b"range" in response.content

"""Compare page views: the option matrix, canonical redirects, bad input, maths, query count."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.models import Metric, Package
from packages_app.names import ALL_PACKAGES
from packages_app.pages.compare import DEFAULT_CATEGORY
from tests.isolation import clear_cache
from tests.packages_app.pages.compare_data import LATEST, all_pypi, put_series
from tests.packages_app.pages.page_payload import chart_payload_of

pytestmark = pytest.mark.django_db


def payload_of(response: Any) -> dict[str, Any]:
    """The payload the chart draws: the page's json_script element plus its data table."""
    return chart_payload_of(response.content.decode())


def get_canonical(client: Client, url: str, **headers: Any) -> Any:
    response = client.get(url, **headers)
    if response.status_code == 302:
        response = client.get(response["Location"], **headers)
    return response


# --- the option matrix ---------------------------------------------------------------------------

METRIC_CATEGORY = {
    Metric.OVERALL: "without_mirrors",
    Metric.PYTHON_MAJOR: "3",
    Metric.PYTHON_MINOR: "3.13",
    Metric.SYSTEM: "Linux",
}
RANGES = ["30", "90", "180", "365", "all", "dates"]


@pytest.mark.parametrize("mode", ["absolute", "share", "share_pypi"])
@pytest.mark.parametrize("metric", list(Metric))
def test_option_matrix(client: Client, metric: Metric, mode: str) -> None:
    """Every agg x smooth x range (plus start/end) for this metric and mode, each range and
    each agg drawn in both scales.

    The scale only picks the chart's axis type (the server passes it through), so it is
    paired with the other options rather than multiplied by them: for a given smooth
    value the scales alternate along the ranges, and the other smooth value swaps them.
    """
    category = METRIC_CATEGORY[metric]
    put_series("alpha", lambda d: 300 + d.day, days=400, metric=metric, category=category)
    put_series("beta", lambda d: 100 + d.month, days=400, metric=metric, category=category)
    all_pypi(lambda d: 100_000, days=400, metric=metric, category=category)
    combinations = itertools.product(["day", "week", "month"], [False, True], RANGES)
    for index, (agg, smooth, range_) in enumerate(combinations):
        scale = ("linear", "log")[(index + smooth) % 2]
        params = [("packages", "alpha,beta"), ("metric", str(metric.label))]
        if category != DEFAULT_CATEGORY[metric]:
            params.append(("category", category))
        params += [("agg", agg), ("scale", scale), ("mode", mode)]
        if smooth:
            params.append(("smooth", "7"))
        if range_ == "dates":
            params += [("start", "2026-01-01"), ("end", "2026-03-31")]
        else:
            params.append(("range", range_))
        query = "&".join(f"{k}={v}" for k, v in params)
        # The chart's partial (what a control's htmx swap fetches): the payload and its
        # table without the layout around them, which the page tests cover.
        response = client.get(f"/compare/?{query}", headers={"HX-Request": "true"})
        label = f"{metric.label} {mode} {agg} smooth={smooth} {scale} {range_}"
        assert response.status_code == 200, label
        payload = payload_of(response)
        assert [d["key"] for d in payload["datasets"]] == ["alpha", "beta"], label
        periods = len(payload["periods"]["labels"])
        assert all(len(d["data"]) == periods for d in payload["datasets"]), label
        shown_agg = "day" if smooth and agg == "day" else agg
        assert payload["options"]["agg"] == shown_agg, label
        assert payload["options"]["scale"] == scale, label
        days = {"30": 30, "90": 90, "180": 180, "365": 365, "all": 400, "dates": 90}[range_]
        assert payload["window"]["days"] == days, label
        if shown_agg == "day":
            assert periods == days, label
        assert payload["unit"] == ("downloads" if mode == "absolute" else "percent"), label
        assert payload["category"] == category and payload["metric"] == metric.label, label
        if mode == "share":
            for a, b in zip(
                payload["datasets"][0]["data"], payload["datasets"][1]["data"], strict=True
            ):
                if a is not None and b is not None:
                    assert a + b == pytest.approx(100.0, abs=0.001), label


# --- canonical URLs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("packages=Django,Flask_Login", "/compare/?packages=django,flask-login"),
        ("packages=django%2Cflask", "/compare/?packages=django,flask"),
        ("packages=flask,Flask,FLASK", "/compare/?packages=flask"),
        (
            "packages=a&agg=week&range=365&mode=absolute&scale=linear&metric=overall",
            "/compare/?packages=a",
        ),
        ("mode=share&packages=a", "/compare/?packages=a&mode=share"),
        ("packages=a&metric=system&category=LINUX", "/compare/?packages=a&metric=system"),
        ("packages=a&utm_source=chat", "/compare/?packages=a"),
        ("packages=a&add=b", "/compare/?packages=a,b"),
    ],
)
def test_redirects_to_the_canonical_url(client: Client, query: str, location: str) -> None:
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 302
    assert response["Location"] == location
    assert client.get(location).status_code == 200


def test_canonical_url_is_served_without_redirect(client: Client) -> None:
    put_series("django", [5] * 30)
    response = client.get("/compare/?packages=django&range=30")
    assert response.status_code == 200
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_htmx_request_gets_the_partial_and_the_canonical_url_pushed(client: Client) -> None:
    put_series("django", [5] * 30)
    response = client.get("/compare/?packages=Django&agg=day", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/compare/?packages=django&agg=day"
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="compare-body"')
    assert "<html" not in body


def test_same_url_fresh_renders_the_same_body(client: Client) -> None:
    put_series("django", lambda d: d.day, days=100)
    put_series("flask", lambda d: d.month, days=100)
    url = "/compare/?packages=django,flask&range=30&agg=day"
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    full = client.get(url).content.decode()
    assert partial.strip() in full


# --- bad input --------------------------------------------------------------------------------

BAD = [
    ("packages=" + ",".join(f"p{i}" for i in range(11)), "at most 10 packages"),
    ("packages=django,not%20valid", "not a valid package name"),
    ("packages=django&metric=stars", "metric: must be one of"),
    ("packages=django&category=3.13", "category: overall has no category"),
    ("packages=django&metric=system&category=Plan9", "category: system has no category"),
    ("packages=django&start=2026-02-31", "start: must be a date"),
    ("packages=django&end=soon", "end: must be a date"),
    ("packages=django&start=2026-03-01&end=2026-01-01", "start: must not be after end"),
    ("packages=django&mode=pie", "mode: must be one of"),
    ("packages=django&range=14", "range: must be one of"),
    ("packages=django&agg=hour", "agg: must be one of"),
    ("packages=django&smooth=3", "smooth: must be 7"),
    ("packages=django&scale=sqrt", "scale: must be one of"),
    ("packages=" + "x" * 200, "not a valid package name"),
]


@pytest.mark.parametrize(("query", "message"), BAD)
def test_bad_input_full_page_shows_the_message(client: Client, query: str, message: str) -> None:
    put_series("django", [5] * 30)
    response = client.get(f"/compare/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'role="alert"' in html
    assert "<html" in html


@pytest.mark.parametrize(("query", "message"), BAD)
def test_bad_input_partial_is_a_400_with_the_message(
    client: Client, query: str, message: str
) -> None:
    put_series("django", [5] * 30)
    response = client.get(f"/compare/?{query}", HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "HX-Push-Url" not in response


@pytest.mark.parametrize(("query", "message"), BAD)
def test_bad_input_exports_are_400(client: Client, query: str, message: str) -> None:
    put_series("django", [5] * 30)
    for fmt in ("csv", "json"):
        response = client.get(f"/compare/export.{fmt}?{query}")
        assert response.status_code == 400
        assert message in response.content.decode()


def test_invalid_option_still_shows_the_valid_packages(client: Client) -> None:
    put_series("django", [5] * 30)
    response = client.get("/compare/?packages=django,bad%20one&agg=hour")
    assert response.status_code == 400
    assert [d["key"] for d in payload_of(response)["datasets"]] == ["django"]


def test_empty_comparison_invites_to_add_packages(client: Client) -> None:
    response = client.get("/compare/")
    assert response.status_code == 200
    assert "add up to 10" in response.content.decode()


# --- maths on known data ----------------------------------------------------------------------


@pytest.fixture
def known(db: Any) -> None:
    put_series("big", [300] * 28)
    put_series("small", [100] * 28)
    all_pypi(lambda d: 10_000, days=28)


def test_absolute_weekly_sums(client: Client, known: None) -> None:
    payload = payload_of(client.get("/compare/?packages=big,small&range=30"))
    # 28 days ending on a Sunday: four complete ISO weeks.
    assert payload["periods"]["partial"] == [False] * 4
    assert payload["datasets"][0]["data"] == [2100] * 4
    assert payload["datasets"][1]["data"] == [700] * 4


def test_share_of_the_selected_packages(client: Client, known: None) -> None:
    payload = payload_of(client.get("/compare/?packages=big,small&range=30&mode=share"))
    assert payload["datasets"][0]["data"] == [75] * 4
    assert payload["datasets"][1]["data"] == [25] * 4
    stats = {row["name"]: row for row in payload["stats"]}
    assert stats["big"]["share_pct"] == 75 and stats["small"]["share_pct"] == 25


def test_share_of_all_pypi(client: Client, known: None) -> None:
    payload = payload_of(
        client.get("/compare/?packages=big,small&range=30&agg=day&mode=share_pypi")
    )
    assert payload["datasets"][0]["data"] == [3] * 28
    assert payload["datasets"][1]["data"] == [1] * 28
    assert payload["all_pypi"]["held"] is True
    stats = {row["name"]: row for row in payload["stats"]}
    assert stats["big"]["share_pct"] == 3 and stats["small"]["share_pct"] == 1


def test_a_small_packages_share_of_all_pypi_is_not_rounded_to_zero(client: Client) -> None:
    # 500 a day of PyPI's 1.6 billion: 0.00003 %, which four decimals rounded to 0 (and a
    # zero vanishes from a log-scale chart).
    put_series("tiny", [500] * 28)
    all_pypi(lambda d: 1_600_000_000, days=28)
    response = client.get("/compare/?packages=tiny&range=30&agg=day&mode=share_pypi")
    payload = payload_of(response)
    # The table (where the chart reads it) keeps three significant digits.
    assert payload["datasets"][0]["data"] == [3.13e-05] * 28
    assert payload["stats"][0]["share_pct"] == 3.125e-05
    html = response.content.decode()
    assert ">0.0000313%<" in html and "0.00%" not in html


def test_weekly_compare_shows_the_seven_day_average_disabled_with_its_reason(
    client: Client, known: None
) -> None:
    response = client.get("/compare/?packages=big&range=30&agg=week", follow=True)
    html = response.content.decode()
    smoothing = html[html.index('data-control="smooth"') :]
    smoothing = smoothing[: smoothing.index("</div>")]
    assert '<span class="disabled" aria-disabled="true"' in smoothing
    assert "smooth=7" not in smoothing  # not a link that does nothing
    assert "daily charts only" in smoothing


def test_share_of_all_pypi_without_its_data_says_so(client: Client) -> None:
    put_series("big", [300] * 28)
    Package.objects.filter(name=ALL_PACKAGES).update(first_date=None, latest_date=None)
    response = client.get("/compare/?packages=big&range=30&mode=share_pypi")
    assert response.status_code == 200
    assert "are not held yet" in response.content.decode()
    assert payload_of(response)["datasets"][0]["data"] == [None] * 4


def test_stats_table_numbers(client: Client) -> None:
    # 35 days: 1, 2, ..., 35 (ending Sunday 2026-11-22).
    put_series("ramp", list(range(1, 36)))
    payload = payload_of(client.get("/compare/?packages=ramp&range=30"))
    (row,) = payload["stats"]
    assert row["last_day"] == 35
    assert row["last_week"] == sum(range(29, 36))
    assert row["last_month"] == sum(range(6, 36))
    assert row["total"] == sum(range(6, 36))  # the 30-day window
    first7, last7 = sum(range(6, 13)), sum(range(29, 36))
    assert row["growth_pct"] == pytest.approx(100 * (last7 - first7) / first7)
    assert row["week_over_week_pct"] == pytest.approx(
        100 * (last7 - sum(range(22, 29))) / sum(range(22, 29))
    )
    assert row["first_date"] == (LATEST - dt.timedelta(days=34)).isoformat()
    html = client.get("/compare/?packages=ramp&range=30").content.decode()
    assert "History since" in html and row["first_date"] in html


def test_days_outside_a_package_history_are_gaps_not_zeros(client: Client) -> None:
    put_series("old", [10] * 60)
    put_series("young", [10] * 10)
    payload = payload_of(client.get("/compare/?packages=old,young&range=30&agg=day"))
    young = payload["datasets"][1]["data"]
    assert young[:20] == [None] * 20 and young[20:] == [10] * 10


def test_smoothing_is_a_trailing_seven_day_mean(client: Client) -> None:
    put_series("saw", [0, 7] * 20)
    payload = payload_of(client.get("/compare/?packages=saw&range=30&agg=day&smooth=7"))
    data = payload["datasets"][0]["data"]
    assert all(v in (3, 4) for v in data)


def test_untracked_and_unknown_packages_show_their_state(client: Client) -> None:
    put_series("django", [5] * 30)
    Package.objects.create(name="waiting-pkg", tracked=True)
    Package.objects.create(name="gone-pkg", tracked=True, upstream_state="not_found")
    html = client.get("/compare/?packages=django,waiting-pkg,gone-pkg,brand-new").content.decode()
    assert "brand-new</span>: not tracked yet" in html
    assert "Sign in to start tracking it" in html
    assert 'hx-get="/compare/status/waiting-pkg/' in html
    assert "is not on PyPI Stats" in html


def test_page_title_and_opengraph_name_packages_and_period(client: Client) -> None:
    put_series("django", [5] * 30)
    put_series("flask", [5] * 30)
    html = client.get("/compare/?packages=django,flask").content.decode()
    assert "<title>django vs flask — weekly downloads, last 365 days" in html
    assert (
        '<meta property="og:description" content="PyPI downloads compared: django vs flask — weekly downloads, last 365 days.">'
        in html
    )
    assert 'name="twitter:description"' in html
    assert (
        'id="share-link"' in html
        and 'value="http://testserver/compare/?packages=django,flask"' in html
    )


# --- constant query count --------------------------------------------------------------------


def count_queries(client: Client, url: str) -> int:
    clear_cache()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_packages_or_range(client: Client) -> None:
    names = [f"pkg{i}" for i in range(10)]
    for i, name in enumerate(names):
        put_series(name, [100 + i + day % 31 for day in range(730)])
    all_pypi(lambda d: 1_000_000, days=730)
    one_short = count_queries(client, "/compare/?packages=pkg0&range=30")
    ten_long = count_queries(client, f"/compare/?packages={','.join(names)}&range=all")
    ten_long_daily = count_queries(
        client, f"/compare/?packages={','.join(names)}&range=all&agg=day&smooth=7&mode=share_pypi"
    )
    one_short_pypi = count_queries(client, "/compare/?packages=pkg0&range=30&mode=share_pypi")
    assert one_short == ten_long == ten_long_daily == one_short_pypi
    # A warm cache reads no series at all: one query fewer.
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/compare/?packages={','.join(names)}&range=all")
    assert len(ctx.captured_queries) == ten_long - 1


def test_cache_is_invalidated_by_data_version(client: Client) -> None:
    package = put_series("django", [5] * 28)
    url = "/compare/?packages=django&range=30"
    assert payload_of(client.get(url))["datasets"][0]["data"] == [35] * 4
    put_series("django", [1] * 7, latest=LATEST + dt.timedelta(days=7))
    package.refresh_from_db()
    assert payload_of(client.get(url))["datasets"][0]["data"][-1] == 7


# --- exports ---------------------------------------------------------------------------------


def test_exports_match_the_chart(client: Client, known: None) -> None:
    url = "?packages=big,small&range=30&agg=day&mode=share_pypi"
    chart = payload_of(client.get("/compare/" + url))
    exported = client.get("/compare/export.json" + url)
    assert exported.status_code == 200
    assert exported["Content-Type"].startswith("application/json")
    assert "attachment" in exported["Content-Disposition"]
    body = json.loads(exported.content)
    assert [s["data"] for s in body["series"]] == [d["data"] for d in chart["datasets"]]
    assert [p["start"] for p in body["periods"]] == chart["periods"]["labels"]
    assert body["mode"] == "share_pypi" and body["unit"] == "percent"
    csv_text = client.get("/compare/export.csv" + url).content.decode()
    lines = csv_text.strip().splitlines()
    assert lines[0] == "package,metric,category,mode,unit,period_start,period_end,partial,value"
    assert len(lines) == 1 + 2 * 28
    big = [line.split(",")[-1] for line in lines[1:] if line.startswith("big,")]
    assert [float(v) for v in big] == chart["datasets"][0]["data"]


def test_export_without_data_is_404(client: Client) -> None:
    assert client.get("/compare/export.csv?packages=nothing-here").status_code == 404


# --- suggestions ----------------------------------------------------------------------------


def test_suggestions_link_to_the_comparison_with_the_package(client: Client) -> None:
    put_series("flask", [5] * 30)
    put_series("flask-login", [5] * 30)
    put_series("django", [5] * 30)
    response = client.get(
        "/compare/suggest/?packages=django&agg=day&add=flask", HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'href="/compare/?packages=django,flask&amp;agg=day"' in html
    assert 'href="/compare/?packages=django,flask-login&amp;agg=day"' in html
    assert "packages=django,django" not in html
    bad = client.get("/compare/suggest/?packages=django&add=%21%21", HTTP_HX_REQUEST="true")
    assert bad.status_code == 200 and "is not a valid package name" in bad.content.decode()

"""What people see of a backfilled package (issue #15, items 3 and 5): the package page reaching
back to ClickHouse's first day, the boundary between the sources, the all-time total and its
badge, and the cross-check of the two sources. On the stand-in, beside the demo upstream."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils.html import escape
from pytest_django import DjangoDbBlocker, Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import selectors
from packages_app.models import Metric, Package, Source
from packages_app.pages.badges import human_count
from packages_app.pages.options import parse_options
from packages_app.pages.package import chart_payload
from packages_app.store import points
from packages_app.sync.upstream import UpstreamClient
from tests.module_data import built_once, for_test
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.conftest import both_sources_once

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def _backfilled_of_module(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    clickhouse: DemoClickHouse,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Package]:
    yield from built_once(
        django_db_blocker,
        lambda: both_sources_once(("httpx",), clickhouse, tmp_path_factory.mktemp("budget"))[
            "httpx"
        ],
    )


@pytest.fixture
def backfilled(
    _backfilled_of_module: Package, ch_settings: Settings, request: pytest.FixtureRequest
) -> Package:
    """httpx: upstream's 181 days, and ClickHouse's since its first download (2018), written
    once per module (tests/module_data.py); the app on the stand-in."""
    return for_test(request, _backfilled_of_module)


def _chart_data(html: str) -> dict[str, object]:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_range_all_reaches_back_to_clickhouses_first_day(backfilled: Package) -> None:
    first = model.first_download_date("httpx")
    boundary = backfilled.first_date
    assert boundary is not None and first < boundary - dt.timedelta(days=365)
    payload = chart_payload(backfilled, parse_options({"range": "all", "agg": "day"}))
    assert payload is not None
    assert payload["window"]["start"] == first.isoformat()
    assert payload["window"]["end"] == LATEST.isoformat()
    labels = payload["periods"]["labels"]
    assert labels[0] == first.isoformat() and len(labels) == (LATEST - first).days + 1
    # Before the boundary the numbers are ClickHouse's, from it on upstream's.
    without = next(ds for ds in payload["charts"][0]["datasets"] if ds["key"] == "without_mirrors")[
        "data"
    ]
    old_day = first + dt.timedelta(days=100)
    assert (
        without[labels.index(old_day.isoformat())]
        == model.day_totals("httpx", old_day).without_mirrors
    )
    upstream = points.by_package(
        package_ids=[backfilled.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        source=Source.UPSTREAM,
    )[backfilled.pk]
    assert without[labels.index(boundary.isoformat())] == upstream[boundary]


def test_the_long_presets_and_the_weekly_default(client: Client, backfilled: Package) -> None:
    first = model.first_download_date("httpx")
    response = client.get("/packages/httpx/?range=all")
    assert response.status_code == 200
    html = response.content.decode()
    data = _chart_data(html)
    assert data["options"] == {
        "range": "all",
        "start": None,
        "end": None,
        "agg": "week",
        "smooth": False,
        "scale": "linear",
    }
    assert data["window"]["start"] == first.isoformat()  # type: ignore[index]
    for label, href in (("2 years", "?range=730"), ("5 years", "?range=1825")):
        assert f'<a href="{href}" hx-get="{href}">{label}</a>' in html
    assert '<a href="?range=all&amp;agg=day" hx-get="?range=all&amp;agg=day">Daily</a>' in html
    # The date form lets the user pick any day ClickHouse holds.
    assert f'min="{first.isoformat()}"' in html
    two_years = _chart_data(client.get("/packages/httpx/?range=730").content.decode())
    assert two_years["window"]["start"] == (LATEST - dt.timedelta(days=729)).isoformat()  # type: ignore[index]
    assert two_years["options"]["agg"] == "week"  # type: ignore[index]


def test_the_boundary_is_marked_and_named(client: Client, backfilled: Package) -> None:
    boundary = backfilled.first_date
    assert boundary is not None
    first = model.first_download_date("httpx")
    named = f"ClickHouse until {boundary - ONE_DAY}, then the PyPI Stats API"
    html = client.get("/packages/httpx/?range=all").content.decode()
    assert (
        f'<dd class="history-since"><time datetime="{first.isoformat()}">'
        f'{first.day} {first:%b %Y}</time> <span class="muted">({named})</span></dd>'
    ) in html
    markers = _chart_data(html)["markers"]
    assert isinstance(markers, list)
    boundary_markers = [m for m in markers if m["kind"] == "boundary"]
    assert boundary_markers == [
        {
            "start": boundary.isoformat(),
            "end": boundary.isoformat(),
            "kind": "boundary",
            "label": f"Source boundary: {named} from {boundary}",
            "url": "",
        }
    ]
    # A range inside upstream's window has no boundary to draw.
    inside = _chart_data(client.get("/packages/httpx/?range=90").content.decode())["markers"]
    assert isinstance(inside, list) and not [m for m in inside if m["kind"] == "boundary"]


def test_without_clickhouse_history_the_page_names_one_source(
    client: Client,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
) -> None:
    from packages_app.sync import services as sync_services

    package = sync_services.package_track(name="httpx")[0]
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    package.refresh_from_db()
    assert package.first_date is not None
    html = client.get("/packages/httpx/?range=all").content.decode()
    assert "ClickHouse" not in html
    assert _chart_data(html)["window"]["start"] == package.first_date.isoformat()  # type: ignore[index]
    assert "Since tracking began" in html and "Sources cross-checked" not in html


def test_the_all_time_total_on_the_page_and_the_badge(client: Client, backfilled: Package) -> None:
    first = model.first_download_date("httpx")
    merged = points.by_package(
        package_ids=[backfilled.pk], metric=Metric.OVERALL, category="without_mirrors"
    )[backfilled.pk]
    total = sum(merged.values())
    assert min(merged) == first
    # More than upstream alone holds: the years before its window count.
    upstream_only = points.by_package(
        package_ids=[backfilled.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        source=Source.UPSTREAM,
    )[backfilled.pk]
    clickhouse_only = points.by_package(
        package_ids=[backfilled.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        source=Source.CLICKHOUSE,
    )[backfilled.pk]
    boundary = backfilled.first_date
    assert boundary is not None
    before = sum(v for d, v in clickhouse_only.items() if d < boundary)
    assert before > 0 and total == before + sum(upstream_only.values())
    caption = f"all time without mirrors, {first} to {LATEST}: ClickHouse, then the PyPI Stats API"
    html = client.get("/packages/httpx/").content.decode()
    assert (
        f'<div class="label">All time</div><div class="value" title="{caption}">{total:,}</div>'
        in html
    )
    assert f"Downloads {caption}." in html
    svg = client.get("/badges/httpx/total.svg")
    assert svg.status_code == 200
    body = svg.content.decode()
    assert f"<title>downloads: {human_count(total)} ({escape(caption)})</title>" in body
    assert f">{human_count(total)}</text>" in body
    endpoint = client.get("/badges/httpx/total.json").json()
    assert endpoint["message"] == human_count(total)


def test_the_agreement_line_and_the_sources_markers(client: Client, backfilled: Package) -> None:
    boundary = backfilled.first_date
    assert boundary is not None
    odd = model.disagreement_days("httpx", boundary, LATEST)
    assert odd
    found = selectors.agreement(backfilled.pk)
    assert found.text == f"{181 - len(odd)} of 181 days agree within 1 %"
    html = client.get("/packages/httpx/").content.decode()
    assert f"Sources cross-checked: <strong>{found.text}</strong>" in html
    markers = _chart_data(html)["markers"]
    assert isinstance(markers, list)
    sources = [m for m in markers if m["kind"] == "sources"]
    assert [m["start"] for m in sources] == [d.isoformat() for d in odd]
    for marker, disagreement in zip(sources, found.disagreements, strict=True):
        assert f"PyPI Stats {disagreement.upstream:,}" in marker["label"]
        assert f"ClickHouse {disagreement.clickhouse:,}" in marker["label"]
    # Also listed under the chart for readers without the chart.
    assert f"{odd[0].isoformat()}: Sources disagree: PyPI Stats" in html


def test_the_package_page_stays_light_at_range_all(client: Client, backfilled: Package) -> None:
    # Weekly by default: ~8 years of weeks, not ~2,900 days per series.
    response = client.get("/packages/httpx/?range=all")
    assert response.status_code == 200
    assert len(response.content) <= 300_000


def test_compare_and_exports_reach_before_upstreams_window(
    client: Client, backfilled: Package
) -> None:
    first = model.first_download_date("httpx")
    boundary = backfilled.first_date
    assert boundary is not None
    old_day = first + dt.timedelta(days=100)
    expected = model.day_totals("httpx", old_day).without_mirrors
    # The compare page: its chart and its stats start at ClickHouse's first day.
    html = client.get("/compare/?packages=httpx&range=all&agg=day").content.decode()
    data = _chart_data(html)
    assert data["window"]["start"] == first.isoformat()  # type: ignore[index]
    # Both CSV exports: the old day's row holds ClickHouse's number.
    for url in (
        "/compare/export.csv?packages=httpx&range=all&agg=day",
        "/packages/httpx/export.csv?range=all&agg=day",
    ):
        response = client.get(url)
        assert response.status_code == 200
        rows = [line.split(",") for line in response.content.decode().splitlines()]
        days = [cells for cells in rows if old_day.isoformat() in cells]
        assert days and any(str(expected) in cells for cells in days)
        assert (
            min(c for cells in rows[1:] for c in cells if re.fullmatch(r"\d{4}-\d\d-\d\d", c))
            == first.isoformat()
        )
    # Custom dates before upstream's window, on both pages.
    start = (boundary - dt.timedelta(days=400)).isoformat()
    end = (boundary - dt.timedelta(days=300)).isoformat()
    for url in (
        f"/packages/httpx/?start={start}&end={end}",
        f"/compare/?packages=httpx&start={start}&end={end}",
    ):
        window = _chart_data(client.get(url).content.decode())["window"]
        assert window == {
            "start": start,
            "end": end,
            "requested_start": start,
            "requested_end": end,
            "days": 101,
            "clipped": False,
        }

"""The package page in headless Chromium: charts painted, HTMX partial updates, history, CSV.

Screenshots (light and dark, desktop and phone) go to test-artifacts/.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
from pytest_django import Settings

from packages_app.models import Package
from packages_app.pages.options import parse_options
from packages_app.pages.package import chart_payload
from tests.e2e.conftest import ARTIFACTS, PAINTED
from tests.live import live_django
from tests.packages_app.pages.package_data import make_package

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e]

WINDOW_DAYS = "() => JSON.parse(document.getElementById('chart-data').textContent).window.days"


@pytest.fixture
def live_app(transactional_db: None, settings: Settings) -> Iterator[str]:
    """A live server started AFTER the test settings apply (plain HTTP, plain static files).

    pytest-django's `live_server` is session-scoped: its handler builds the middleware
    before the per-test settings exist, so SecurityMiddleware would keep the import-time
    HTTPS redirect (DEBUG off means HTTPS on) and send Chromium to https://.
    """
    with live_django() as server:
        yield server.url


@pytest.fixture
def package(transactional_db: None) -> Package:
    today = dt.date.today()
    return make_package(
        "demo-pkg", first=today - dt.timedelta(days=400), latest=today - dt.timedelta(days=1)
    )


def _drawn(page: Page) -> int:
    return int(page.evaluate("() => Number(document.documentElement.dataset.chartsDrawn || 0)"))


def test_package_page_end_to_end(browser: Browser, live_app: str, package: Package) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expected = chart_payload(package, parse_options({"range": "90"}))
    assert expected is not None
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))

    page.goto(f"{live_app}/packages/demo-pkg/")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    for chart in ("overall", "python_major", "python_minor_share", "python_minor", "system"):
        assert page.evaluate(PAINTED, f'canvas[data-chart="{chart}"]') > 1000, chart
    assert page.evaluate(WINDOW_DAYS) == 180
    # With JavaScript on, the tables are folded away under the charts.
    assert page.locator("details.data-table[open]").count() == 0
    page.screenshot(path=str(ARTIFACTS / "package-light-desktop.png"), full_page=True)
    # The first chart's table is in the page; the others' are fetched when first opened
    # (an htmx partial), without moving the URL, and hold what the chart drew.
    assert page.locator("table[data-chart-table]").count() == 1
    page.locator("#chart-system details.data-table summary").click()
    system = page.locator('#chart-system table[data-chart-table="system"]')
    system.wait_for()
    assert system.locator("tbody tr").count() == 180
    assert page.url == f"{live_app}/packages/demo-pkg/"
    drawn_system = page.evaluate(
        """() => Chart.getChart(document.querySelector('canvas[data-chart="system"]'))
                 .data.datasets.map((d) => d.data[0])"""
    )
    first_row = system.locator("tbody tr").first.locator("td")
    cells = [first_row.nth(i + 1).inner_text() for i in range(len(drawn_system))]
    assert [int(c.replace(",", "")) for c in cells] == drawn_system
    page.locator("#chart-system details.data-table").screenshot(
        path=str(ARTIFACTS / "package-table-opened.png")
    )
    # Closing and opening it again does not fetch it again.
    page.locator("#chart-system details.data-table summary").click()
    page.locator("#chart-system details.data-table summary").click()
    page.wait_for_function("() => document.querySelector('#chart-system details').open")
    page.wait_for_load_state("networkidle")
    assert [u for u in requested if "/tables/" in u] == [
        f"{live_app}/packages/demo-pkg/tables/system/"
    ]

    # Change the range: an HTMX swap of the charts, not a page load.
    page.evaluate("() => { window.__marker = 1; }")
    drawn_before = _drawn(page)
    page.locator("#charts .seg a", has_text="90 days").click()
    page.wait_for_url("**/packages/demo-pkg/?range=90")
    page.wait_for_function(
        f"() => Number(document.documentElement.dataset.chartsDrawn) > {drawn_before}"
    )
    assert page.evaluate("() => window.__marker") == 1
    assert page.evaluate(WINDOW_DAYS) == 90
    assert page.evaluate(PAINTED, 'canvas[data-chart="overall"]') > 1000
    assert page.locator('#charts .seg a[aria-current="true"]', has_text="90 days").count() == 1

    # A second change, then back: the previous state (URL and charts) comes back.
    page.locator("#charts .seg a", has_text="Weekly").click()
    page.wait_for_url("**/packages/demo-pkg/?range=90&agg=week")
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('chart-data').textContent).options.agg === 'week'"
    )
    page.go_back()
    page.wait_for_url("**/packages/demo-pkg/?range=90")
    page.wait_for_function(
        "() => JSON.parse(document.getElementById('chart-data').textContent).options.agg === 'day'"
    )
    page.wait_for_function(f"() => ({PAINTED})('canvas[data-chart=\"overall\"]') > 1000")
    assert page.evaluate("() => window.__marker") == 1
    assert page.evaluate(WINDOW_DAYS) == 90
    page.go_back()
    page.wait_for_url("**/packages/demo-pkg/")
    page.wait_for_function(f"() => ({PAINTED})('canvas[data-chart=\"overall\"]') > 1000")
    assert page.evaluate(WINDOW_DAYS) == 180
    page.go_forward()
    page.wait_for_url("**/packages/demo-pkg/?range=90")
    page.wait_for_function(f"() => ({PAINTED})('canvas[data-chart=\"overall\"]') > 1000")
    assert page.evaluate(WINDOW_DAYS) == 90

    # The CSV export has the rows the charts show for these options.
    with page.expect_download() as download_info:
        page.locator("#charts .exports a", has_text="CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-day.csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    periods = expected["periods"]["labels"]
    assert len(rows) == len(periods) * sum(len(c["datasets"]) for c in expected["charts"])
    overall = [r for r in rows if r["chart"] == "overall" and r["category"] == "without_mirrors"]
    without = next(d for d in expected["charts"][0]["datasets"] if d["key"] == "without_mirrors")
    assert [r["period_start"] for r in overall] == periods
    assert [int(r["value"]) for r in overall] == without["data"]

    # No CSP violation, no script error (the browser's own favicon request may 404).
    errors = [e for e in errors if "404" not in e]
    assert errors == [], errors
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("label", "viewport"), [("desktop", (1280, 900)), ("phone", (390, 844))])
def test_screenshots(
    browser: Browser,
    live_app: str,
    package: Package,
    scheme: Literal["light", "dark"],
    label: str,
    viewport: tuple[int, int],
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=scheme
    )
    page = context.new_page()
    page.goto(f"{live_app}/packages/demo-pkg/?agg=week&range=365")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    assert page.evaluate(PAINTED, 'canvas[data-chart="python_minor_share"]') > 1000
    # Nothing is wider than the screen (no sideways scrolling on a phone).
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport[0]
    page.screenshot(path=str(ARTIFACTS / f"package-{scheme}-{label}.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / f"package-{scheme}-{label}-top.png"))
    page.locator(".python-support").screenshot(
        path=str(ARTIFACTS / f"package-{scheme}-{label}-python.png")
    )
    page.goto(f"{live_app}/")
    page.locator("#home-q").fill("demo")
    page.wait_for_selector("#home-suggestions a")
    assert page.locator("#home-suggestions a", has_text="demo-pkg").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"home-{scheme}-{label}.png"), full_page=True)
    context.close()


def test_without_javascript_the_tables_show(
    browser: Browser, live_app: str, package: Package
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_app}/packages/demo-pkg/?range=30")
    assert page.locator("details.data-table[open]").count() == 5
    assert not page.locator(".chart-box").first.is_visible()
    # The first chart's table is in the page; each other one is a link to its table.
    assert page.locator("details.data-table table").count() == 1
    assert page.locator("details.data-table table").first.is_visible()
    links = page.locator("details.data-table .table-link a")
    assert links.count() == 4
    page.locator("#chart-python_minor .table-link a").click()
    page.wait_for_url("**/packages/demo-pkg/tables/python_minor/?range=30")
    table = page.locator('table[data-chart-table="python_minor"]')
    assert table.is_visible() and table.locator("tbody tr").count() == 30
    page.screenshot(path=str(ARTIFACTS / "package-nojs-table.png"), full_page=True)
    page.locator("a", has_text="Back to the charts").click()
    page.wait_for_url("**/packages/demo-pkg/?range=30#chart-python_minor")
    # The controls are plain links that work without JavaScript.
    page.locator("#charts .seg a", has_text="Monthly").click()
    page.wait_for_url("**/packages/demo-pkg/?range=30&agg=month")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "package-nojs.png"), full_page=True)
    context.close()

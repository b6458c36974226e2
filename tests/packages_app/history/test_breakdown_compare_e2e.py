"""Compare `metric=installer&category=uv` across five packages in headless Chromium (issue
#16 "Done when"): one line per package from the chart's own table, the category picker and
the metric links swap in place, light and dark, desktop and a phone, axe finds no serious
violation; the exports of the same view download. On a stand-in holding five packages.
Screenshots under test-artifacts/breakdowns/."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import httpx as http
import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from tests.e2e.conftest import ARTIFACTS, PAINTED
from tests.e2e.test_accessibility import ALSO_FAIL, AXE, RUN_AXE
from tests.live import live_django
from tests.packages_app.demo.clickhouse_support import stand_in

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e]
SHOTS = ARTIFACTS / "breakdowns"
FIVE = ("httpx", "sqlalchemy", "flask", "attrs", "fastapi")
QUERY = "/compare/?packages=" + ",".join(FIVE) + "&metric=installer"
CHART = "Chart.getChart(document.querySelector('canvas[data-chart=compare]'))"


@pytest.fixture(scope="module")
def five() -> Iterator[DemoClickHouse]:
    with stand_in(packages=FIVE) as running:
        yield running


@pytest.fixture
def live_app(transactional_db: None, settings: Settings, five: DemoClickHouse) -> Iterator[str]:
    settings.CLICKHOUSE_URL = five.url
    settings.CLICKHOUSE_USER = five.user
    settings.CLICKHOUSE_PASSWORD = five.password
    settings.CLICKHOUSE_DATABASE = "pypi"
    settings.CLICKHOUSE_RATE_PER_SECOND = 0
    settings.CLICKHOUSE_RATE_PER_MINUTE = 0
    settings.DEMO_UPSTREAM = True
    with live_django("localhost") as server:
        yield server.url


def _axe(page: Page) -> list[dict[str, object]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, object]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FAIL]


def _drawn(page: Page) -> None:
    page.wait_for_function(f"() => {CHART} && {CHART}.data.datasets.length === 5")
    page.wait_for_function(
        f"() => {CHART}.data.datasets.every(d => d.data.some(v => v !== null))", timeout=20_000
    )


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_uv_share_across_five_packages(
    browser: Browser, live_app: str, scheme: Literal["light", "dark"]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_app + QUERY)
    _drawn(page)
    assert page.evaluate(PAINTED, 'canvas[data-chart="compare"]') > 1000
    # The lines are the no-JS table's numbers: the last row's cells, as the chart holds them.
    last = page.evaluate(f"() => {CHART}.data.datasets.map(d => d.data[d.data.length - 1])")
    cells = page.locator('table[data-chart-table="compare"] tbody tr').last.locator("td")
    shown = [(cells.nth(i + 1).text_content() or "").strip() for i in range(5)]
    assert [float(s.rstrip("%")) for s in shown] == pytest.approx(last, abs=0.01)
    assert page.locator("[data-breakdown-stats] tbody tr").count() == 5
    assert page.locator('.seg[data-control="metric"] a[aria-current="true"]').inner_text() == (
        "Installer"
    )
    assert "uv installs" in page.locator(".range-note").inner_text()
    page.screenshot(path=str(SHOTS / f"compare-uv-five-{scheme}.png"), full_page=True)
    assert _axe(page) == []

    # The category picker swaps the comparison in place and pushes the URL.
    page.select_option('select[name="category"]', "poetry")
    page.wait_for_url("**category=poetry**")
    page.wait_for_function(
        "() => document.querySelector('.range-note').textContent.includes('poetry installs')"
    )
    _drawn(page)
    # Absolute numbers, then another breakdown: the latest release of each.
    page.locator('.seg[data-control="mode"] a', has_text="Downloads").click()
    page.wait_for_url("**mode=absolute**")
    page.locator('.seg[data-control="metric"] a', has_text="Version").click()
    page.wait_for_url("**metric=version**")
    _drawn(page)
    assert page.locator("[data-breakdown-stats] thead", has_text="Version").count() == 1
    page.screenshot(path=str(SHOTS / f"compare-latest-five-{scheme}.png"), full_page=True)
    assert _axe(page) == []
    assert errors == []
    context.close()


def test_on_a_phone_and_the_exports(browser: Browser, live_app: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        bypass_csp=True, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(live_app + QUERY)
    _drawn(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "compare-uv-five-phone.png"), full_page=True)
    assert _axe(page) == []
    context.close()
    exported = http.get(live_app + QUERY.replace("/compare/", "/compare/export.csv"), timeout=30)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["package"] for r in rows} == set(FIVE)
    assert {r["category"] for r in rows} == {"uv"} and {r["unit"] for r in rows} == {"percent"}

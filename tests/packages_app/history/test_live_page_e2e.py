"""An untracked package's page from the ClickHouse stand-in, in headless Chromium (#15 item 4):
the charts paint from the live payload and the controls swap them like a tracked page's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from tests.live import live_django

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.e2e]

PAINTED = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width || !canvas.height) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let opaque = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) opaque++;
  return opaque;
}"""
WINDOW = "() => JSON.parse(document.getElementById('chart-data').textContent).window"


@pytest.fixture
def live_app(transactional_db: None, ch_settings: Settings) -> Iterator[str]:
    with live_django() as server:
        yield server.url


def test_an_untracked_page_draws_its_charts_and_switches_range(
    browser: Browser, live_app: str, ch: DemoClickHouse
) -> None:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_app}/packages/httpx/")
    assert "read live from ClickHouse" in page.content()
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    for chart in ("overall", "python_major", "python_minor_share", "python_minor", "system"):
        assert page.evaluate(PAINTED, f'canvas[data-chart="{chart}"]') > 1000, chart
    assert page.evaluate(WINDOW)["days"] == 180

    drawn = int(page.evaluate("() => Number(document.documentElement.dataset.chartsDrawn)"))
    page.locator("#charts .seg a", has_text="All").click()
    page.wait_for_url("**/packages/httpx/?range=all")
    page.wait_for_function(f"() => Number(document.documentElement.dataset.chartsDrawn) > {drawn}")
    assert page.evaluate(WINDOW)["start"] == model.first_download_date("httpx").isoformat()
    assert page.evaluate(PAINTED, 'canvas[data-chart="overall"]') > 1000
    assert errors == []

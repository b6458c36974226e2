"""A backfilled package's page at range=all in headless Chromium: ten years drawn, the source
boundary on the chart, the cross-check stated. Screenshot: test-artifacts/package-backfilled-*.

Here rather than in tests/e2e: it needs the ClickHouse stand-in and the demo upstream, whose
fixtures live with the history tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import selectors
from packages_app.history.client import ClickHouseClient
from packages_app.sync.upstream import UpstreamClient
from tests.e2e.conftest import ARTIFACTS, PAINTED
from tests.live import live_django
from tests.packages_app.history.conftest import both_sources

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.e2e]

# The boundary annotation as the chart module configured it on the overall chart.
BOUNDARY = """() => {
  const chart = Chart.getChart(document.querySelector('canvas[data-chart="overall"]'));
  const all = chart.options.plugins.annotation.annotations;
  const found = Object.values(all).filter((a) => a.label && a.label.display && a.borderWidth === 2);
  return found.map((a) => ({x: a.xMin, content: a.label.content}));
}"""


@pytest.fixture
def live_app(transactional_db: None) -> Iterator[str]:
    with live_django() as server:
        yield server.url


def test_backfilled_package_at_range_all(
    browser: Browser,
    live_app: str,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    with client_for(demo) as upstream_client, ch_client() as clickhouse_client:
        package = both_sources("httpx", upstream_client, clickhouse_client)
    assert package.first_date is not None
    first = model.first_download_date("httpx")
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_app}/packages/httpx/?range=all")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    for chart in ("overall", "python_major", "python_minor_share", "python_minor", "system"):
        assert page.evaluate(PAINTED, f'canvas[data-chart="{chart}"]') > 1000, chart
    window = page.evaluate("() => JSON.parse(document.getElementById('chart-data').textContent)")
    assert window["window"]["start"] == first.isoformat()
    assert window["options"]["agg"] == "week"
    assert page.evaluate(BOUNDARY) == [
        {"x": package.first_date.isoformat(), "content": ["ClickHouse | PyPI Stats API"]}
    ]
    since = page.locator(".history-since").inner_text()
    assert since.startswith(f"{first.day} {first:%b %Y}")
    assert "ClickHouse until" in since and "then the PyPI Stats API" in since
    agreement = selectors.agreement(package.pk)
    assert agreement.text in page.locator(".agreement").inner_text()
    assert errors == []
    page.screenshot(path=str(ARTIFACTS / "package-backfilled-all-desktop-light.png"))
    page.screenshot(
        path=str(ARTIFACTS / "package-backfilled-all-desktop-light-full.png"), full_page=True
    )
    page.locator("#chart-overall").screenshot(
        path=str(ARTIFACTS / "package-backfilled-all-desktop-light-overall.png")
    )
    context.close()

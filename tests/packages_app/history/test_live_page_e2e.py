"""An untracked package's page from the ClickHouse stand-in, in headless Chromium (#15 item 4):
the charts paint from the live payload and the controls swap them like a tracked page's; after
"Track" the live charts stay, with a note, until the history is stored, then the page reloads
onto the stored charts by itself. Screenshots: test-artifacts/package-tracking-*."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync.upstream import UpstreamClient
from tests.e2e.conftest import ARTIFACTS, PAINTED
from tests.live import live_django
from tests.packages_app.history.test_live_tracking import backfill, refresh_upstream

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.e2e]

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


def test_track_keeps_the_live_charts_then_switches_to_the_stored_ones(
    browser: Browser,
    live_app: str,
    ch: DemoClickHouse,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    signed_in = Client()
    signed_in.force_login(get_user_model().objects.create_user("ada", password="pw-123456789"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": "sessionid", "value": signed_in.cookies["sessionid"].value, "url": live_app}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    first = model.first_download_date("httpx").isoformat()

    page.goto(f"{live_app}/packages/httpx/?range=all")
    page.get_by_role("button", name="Track httpx").click()
    page.wait_for_url("**/packages/httpx/")
    # Tracked, nothing stored: the live charts and the note, never "waiting for data".
    note = page.locator("#track-status")
    assert "Fetching httpx's history" in note.inner_text()
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    assert page.evaluate(PAINTED, 'canvas[data-chart="overall"]') > 1000
    page.locator("#charts .seg a", has_text="All").click()
    page.wait_for_url("**/packages/httpx/?range=all")
    page.wait_for_function(f"() => {WINDOW}().start === '{first}'")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "package-tracking-live.png"), full_page=True)

    # Both sources land (as the worker's refresh and backfill would): the polled note
    # reloads the page onto the stored charts, ten years with the boundary named.
    package = Package.objects.get(name="httpx")
    refresh_upstream(package, demo, client_for)
    backfill(package, ch_client)
    page.wait_for_selector(".history-since", timeout=15_000)
    assert page.locator("#track-status").count() == 0
    assert "read live from ClickHouse" not in page.content()
    assert "ClickHouse until" in page.locator(".history-since").inner_text()
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    assert page.evaluate(WINDOW)["start"] == first
    page.screenshot(path=str(ARTIFACTS / "package-tracking-stored.png"), full_page=True)
    assert errors == []

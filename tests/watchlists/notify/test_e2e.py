"""In a real browser: the package chart draws the data-quality annotations (CSP on),
and the watchlist page's digest section subscribes without errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.watchlists.notify.helpers import make_package, weekday_pattern

if TYPE_CHECKING:
    from pytest_django.live_server_helper import LiveServer

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_chart_shows_marker_annotations(live_server: LiveServer, browser: Any) -> None:
    make_package("annotated", dt.date(2026, 7, 1), dt.date(2026, 9, 30), weekday_pattern(1000))
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    errors: list[str] = []
    # Failed loads are checked by URL below (the browser's own /favicon.ico probe
    # is a 404 this page does not ask for); every other console error fails the test.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(f"{live_server.url}/packages/annotated/?start=2026-08-01&end=2026-09-30")
    page.wait_for_function("document.documentElement.dataset.chartsDrawn !== undefined")
    # The plugin registered itself and the first chart carries the marker annotation.
    found = page.evaluate(
        """() => {
          const canvas = document.querySelector('canvas[data-chart="overall"]');
          const chart = window.Chart.getChart(canvas);
          const a = chart.options.plugins.annotation.annotations;
          return {registered: !!window.Chart.registry.plugins.get('annotation'),
                  keys: Object.keys(a), first: a.marker0 && {type: a.marker0.type, x: a.marker0.xMin}};
        }"""
    )
    page.locator("#chart-overall").screenshot(path=str(ARTIFACTS / "chart-markers.png"))
    assert found == {
        "registered": True,
        "keys": ["marker0"],
        "first": {"type": "line", "x": "2026-08-24"},
    }
    assert errors == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_subscribe_and_alert_pages_in_a_browser(live_server: LiveServer, browser: Any) -> None:
    from tests.world import PASSWORD, make_user
    from watchlists import services
    from watchlists.notify.models import DigestSubscription

    alice = make_user("alice")
    watchlist = services.watchlist_create(name="Browser list", user=alice)
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url("**/dashboard/")
    page.goto(f"{live_server.url}/watchlists/{watchlist.uid}/")
    page.get_by_role("button", name="Subscribe to the weekly digest").click()
    page.wait_for_selector("text=You get this list's weekly digest")
    page.locator("#digest-alerts").screenshot(path=str(ARTIFACTS / "digest-section.png"))
    page.get_by_role("link", name="Alerts and webhooks").click()
    page.select_option("select[name=kind]", "change")
    page.fill("input[name=change_pct]", "40")
    page.get_by_role("button", name="Add alert").click()
    page.wait_for_selector("text=weekly change beyond ±40%")
    page.screenshot(path=str(ARTIFACTS / "alerts-page.png"), full_page=True)
    assert DigestSubscription.objects.filter(user=alice, watchlist=watchlist).exists()

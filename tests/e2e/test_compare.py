"""The compare page in headless Chromium: a shared link opened signed out, HTMX option
changes that push the URL without a page load, back/forward, the copy-link box, and
screenshots (light/dark, desktop/phone) under test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import pytest
from pytest_django import Settings

from tests.e2e.conftest import ARTIFACTS
from tests.packages_app.pages.compare_data import all_pypi, put_series

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize
    from pytest_django.live_server_helper import LiveServer

pytestmark = pytest.mark.e2e

# Read from the Chart.js instance itself; -1 while a swap has no chart drawn yet.
CHART = (
    "(Chart.getChart(document.querySelector('canvas[data-chart=compare]')) || {data: null}).data"
)
DATASETS = f"() => {CHART} ? {CHART}.datasets.length : -1"
LABELS = f"() => {CHART} ? {CHART}.labels.length : -1"


def until(expression: str, value: int) -> str:
    return f"() => ({expression})() === {value}"


@pytest.fixture(scope="session", autouse=True)
def _plain_http_live_server() -> Iterator[None]:
    """The live server is session-scoped and its SecurityMiddleware reads
    SECURE_SSL_REDIRECT once, when it starts: switch the redirect off before that
    (session-scoped autouse fixtures run before live_server). The per-test override in
    the root conftest comes too late for it."""
    from django.test import override_settings

    with override_settings(SECURE_SSL_REDIRECT=False):
        yield


@pytest.fixture
def data(transactional_db: None, settings: Settings) -> None:
    put_series("django", lambda d: 40_000 + 9_000 * (d.weekday() < 5) + d.day * 50, days=400)
    put_series("flask", lambda d: 25_000 + 6_000 * (d.weekday() < 5) + d.month * 200, days=400)
    put_series("fastapi", lambda d: 15_000 + 20 * d.toordinal() % 7000, days=200)
    all_pypi(lambda d: 40_000_000, days=400)


def wait_drawn(page: Page, count: int) -> None:
    page.wait_for_function(
        f"() => Number(document.documentElement.dataset.chartsDrawn || 0) >= {count}"
    )


def test_shared_link_options_history_and_copy(
    live_server: LiveServer, browser: Browser, data: None
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )

    shared = f"{live_server.url}/compare/?packages=Django,Flask&range=90"
    page.goto(shared)
    canonical = f"{live_server.url}/compare/?packages=django,flask&range=90"
    assert page.url == canonical  # redirected to the canonical spelling
    wait_drawn(page, 1)
    assert page.evaluate(DATASETS) == 2
    assert page.title().startswith("django vs flask — weekly downloads, last 90 days")
    assert page.input_value("#share-link") == page.url
    weekly_labels = page.evaluate(LABELS)

    # An option change is an HTMX swap: the URL changes, the page (window) stays.
    page.evaluate("window.__marker = 'kept'")
    page.click("[data-control=agg] a:has-text('Daily')")
    page.wait_for_url(f"{canonical}&agg=day")
    wait_drawn(page, 2)
    assert page.evaluate("window.__marker") == "kept"
    assert page.evaluate(LABELS) == 90
    assert page.input_value("#share-link") == page.url
    assert "daily downloads" in page.title()

    page.click("[data-control=agg] a:has-text('Monthly')")
    page.wait_for_url(f"{canonical}&agg=month")
    wait_drawn(page, 3)
    monthly_labels = page.evaluate(LABELS)
    assert monthly_labels < weekly_labels

    # Back and forward restore the URL and the chart.
    page.go_back()
    page.wait_for_url(f"{canonical}&agg=day")
    page.wait_for_function(until(LABELS, 90))
    assert page.input_value("#share-link") == page.url
    page.go_back()
    page.wait_for_url(canonical)
    page.wait_for_function(until(LABELS, weekly_labels))
    assert page.evaluate(DATASETS) == 2
    page.go_forward()
    page.wait_for_url(f"{canonical}&agg=day")
    page.wait_for_function(until(LABELS, 90))
    assert page.evaluate("window.__marker") == "kept"
    assert page.input_value("#share-link") == page.url

    # Adding a package from the suggestions.
    page.fill("#compare-add", "fast")
    page.click("#compare-suggestions a:has-text('fastapi')")
    page.wait_for_url(f"{live_server.url}/compare/?packages=django,flask,fastapi&range=90&agg=day")
    page.wait_for_function(until(DATASETS, 3))
    assert page.evaluate("window.__marker") == "kept"

    # The copy-link button: the box holds the address bar, and the button reports back.
    page.click(".js-copy-link")
    page.wait_for_function("() => document.querySelector('.copy-status').textContent.length > 0")
    assert page.input_value("#share-link") == page.url
    print("BROWSER", errors)
    assert [e for e in errors if "Failed to load resource" not in e] == []
    context.close()


def test_invalid_option_shows_message_in_place(
    live_server: LiveServer, browser: Browser, data: None
) -> None:
    page = browser.new_page()
    page.goto(f"{live_server.url}/compare/?packages=django,flask&agg=fortnight")
    assert "agg: must be one of day, week, month" in page.inner_text("#compare-body")
    page.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(
    ("device", "viewport"),
    [("desktop", {"width": 1280, "height": 1000}), ("phone", {"width": 390, "height": 844})],
)
def test_screenshots(
    live_server: LiveServer,
    browser: Browser,
    data: None,
    scheme: Literal["light", "dark"],
    device: str,
    viewport: ViewportSize,
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport=viewport, color_scheme=scheme, device_scale_factor=1, is_mobile=device == "phone"
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/compare/?packages=django,flask,fastapi,not-yet-here&range=180")
    wait_drawn(page, 1)
    assert page.evaluate(DATASETS) == 3
    page.screenshot(path=str(ARTIFACTS / f"compare-{device}-{scheme}.png"), full_page=True)
    page.goto(
        f"{live_server.url}/compare/?packages=django,flask&range=180&scale=log&mode=share_pypi"
    )
    wait_drawn(page, 1)
    page.screenshot(
        path=str(ARTIFACTS / f"compare-share-pypi-{device}-{scheme}.png"), full_page=True
    )
    context.close()
    assert os.path.getsize(ARTIFACTS / f"compare-{device}-{scheme}.png") > 10_000

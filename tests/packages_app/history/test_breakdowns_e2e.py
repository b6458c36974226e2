"""The versions, installers and countries sections in headless Chromium (issue #16, "Done when"):
loaded lazily as the page scrolls, drawn from their own payloads, their controls swap
them in place; light and dark, desktop and a 390x844 phone; axe finds no serious
violation. Screenshots under test-artifacts/breakdowns/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.upstream import DemoUpstream
from packages_app.history.client import ClickHouseClient
from packages_app.sync.upstream import UpstreamClient
from tests.e2e.conftest import ARTIFACTS, PAINTED
from tests.e2e.test_accessibility import ALSO_FAIL, AXE, RUN_AXE
from tests.live import live_django
from tests.packages_app.history.conftest import both_sources_from

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e]
SHOTS = ARTIFACTS / "breakdowns"
KINDS = ("versions", "installers", "countries")


@pytest.fixture
def live_app(transactional_db: None, ch_settings: Settings) -> Iterator[str]:
    ch_settings.DEMO_UPSTREAM = True
    with live_django("localhost") as server:
        yield server.url


def _watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def _load_sections(page: Page) -> None:
    """Scroll each section into view (htmx loads it on `revealed`) and wait for its chart."""
    for kind in KINDS:
        # Scrolled to (again) until it has loaded: htmx may swap a section while it is being
        # scrolled to, when an earlier one brought it into view first.
        page.wait_for_function(
            f"""() => {{ const s = document.getElementById('breakdown-{kind}');
            if (s) s.scrollIntoView();
            return !!document.querySelector('#breakdown-{kind} canvas[data-chart="{kind}"]'); }}""",
            timeout=20_000,
            polling=250,
        )
        page.wait_for_function(
            f"""() => {{ const c = document.querySelector('canvas[data-chart="{kind}"]');
            return c && c.width > 0 && c.getContext('2d')
              .getImageData(0, 0, c.width, c.height).data.some((v, i) => i % 4 === 3 && v > 0); }}""",
            timeout=20_000,
        )


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FAIL]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_untracked_package_sections_draw_switch_and_pass_axe(
    browser: Browser, live_app: str, ch: DemoClickHouse, scheme: Literal["light", "dark"]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors = _watch_errors(page)
    page.goto(f"{live_app}/packages/httpx/")
    page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    _load_sections(page)
    for kind in KINDS:
        assert page.evaluate(PAINTED, f'canvas[data-chart="{kind}"]') > 1000, kind
    # The main charts were left alone by the sections' payloads.
    assert page.evaluate(PAINTED, 'canvas[data-chart="overall"]') > 1000
    assert page.locator("[data-adoption] tbody tr").count() >= 2
    assert "no downloads recorded yet" in page.locator("#breakdown-versions").inner_text()
    for kind in KINDS:
        page.locator(f"#breakdown-{kind}").screenshot(path=str(SHOTS / f"{kind}-{scheme}.png"))

    # Share: the installers section swaps in place, the page's URL stays.
    url = page.url
    page.locator("#breakdown-installers .seg a", has_text="Share").click()
    page.wait_for_selector('#breakdown-installers .seg a[aria-current="true"]:has-text("Share")')
    page.wait_for_function(
        """() => JSON.parse(document.getElementById('breakdown-installers-data').textContent)
          .options.mode === 'share'"""
    )
    page.wait_for_function(
        """() => { const c = document.querySelector('canvas[data-chart="installers"]');
        return c && c.width > 0; }"""
    )
    assert page.url == url
    # Focus stays in the section whose control was used.
    focused = page.evaluate("() => document.activeElement.closest('section')?.id")
    assert focused == "breakdown-installers"
    page.locator("#breakdown-installers").screenshot(
        path=str(SHOTS / f"installers-share-{scheme}.png")
    )
    # Grouping and range on versions.
    page.locator("#breakdown-versions .seg a", has_text="Major").click()
    page.wait_for_function(
        """() => JSON.parse(document.getElementById('breakdown-versions-data').textContent)
          .options.grouping === 'major'"""
    )
    page.locator("#breakdown-versions .seg a", has_text="All").click()
    page.wait_for_function(
        """() => JSON.parse(document.getElementById('breakdown-versions-data').textContent)
          .window.days > 2000"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate(PAINTED, 'canvas[data-chart="versions"]') > 1000
    page.locator("#breakdown-versions").screenshot(path=str(SHOTS / f"versions-all-{scheme}.png"))
    assert _axe(page) == []
    assert errors == []
    context.close()


def test_tracked_package_sections_on_a_phone(
    browser: Browser,
    live_app: str,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    both_sources_from("sqlalchemy", demo, client_for, ch_client)
    schemes: tuple[Literal["light", "dark"], ...] = ("light", "dark")
    for scheme in schemes:
        context = browser.new_context(
            color_scheme=scheme,
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
        )
        page = context.new_page()
        errors = _watch_errors(page)
        page.goto(f"{live_app}/packages/sqlalchemy/")
        assert "History since" in page.content()  # the tracked page, not the live one
        _load_sections(page)
        # Nothing wider than the phone.
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        page.locator("#breakdown-countries").screenshot(
            path=str(SHOTS / f"countries-phone-{scheme}.png")
        )
        page.locator("#breakdown-versions").screenshot(
            path=str(SHOTS / f"versions-phone-{scheme}.png")
        )
        page.screenshot(path=str(SHOTS / f"page-phone-{scheme}.png"), full_page=True)
        assert _axe_bypassing(browser, page.url, scheme) == []
        assert errors == []
        context.close()


def _axe_bypassing(
    browser: Browser, url: str, scheme: Literal["light", "dark"]
) -> list[dict[str, Any]]:
    """axe needs its script injected, which the page's CSP refuses: a context bypassing it."""
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(url)
    _load_sections(page)
    found = _axe(page)
    context.close()
    return found


def test_without_javascript_the_links_open_the_sections(
    browser: Browser, live_app: str, ch: DemoClickHouse
) -> None:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(f"{live_app}/packages/httpx/?range=30")
    page.locator("#breakdown-countries a", has_text="countries").click()
    page.wait_for_url("**/packages/httpx/breakdowns/countries/?range=30")
    table = page.locator('table[data-chart-table="countries"]')
    assert table.is_visible() and table.locator("tbody tr").count() == 30
    assert page.locator('table[data-ranking="countries"] meter').count() >= 5
    page.screenshot(path=str(SHOTS / "countries-nojs.png"), full_page=True)
    context.close()

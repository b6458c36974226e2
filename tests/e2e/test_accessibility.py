"""axe-core on every page type, light and dark (#14 item 5): no serious or critical
violation, and none of the moderate ones the browser review found (heading order, unnamed
or duplicate landmarks, content outside any landmark).

axe-core is vendored, pinned, for the tests only: tests/e2e/vendor/axe-core-4.14.1/
(axe.min.js and its MPL-2.0 LICENSE, from the npm package axe-core 4.14.1). The page's CSP
refuses a script it did not name, so the browser context bypasses CSP (`bypass_csp`);
nothing else about the page changes. Keyboard focus after an HTMX swap is tested here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest
from django.test import Client
from pytest_django import Settings

from tests.e2e.conftest import ARTIFACTS
from tests.live import LiveDjango, live_django
from tests.packages_app.pages.compare_data import all_pypi, put_series
from tests.packages_app.pages.package_data import make_package
from tests.world import World, build_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.e2e]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
LATEST = dt.date(2026, 11, 25)
# Moderate rules the review named: they fail the test too.
ALSO_FAIL = {"heading-order", "landmark-unique", "region", "landmark-no-duplicate-banner"}

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


@pytest.fixture
def app(settings: Settings, transactional_db: None) -> Iterator[LiveDjango]:
    # The demo banner is one of the things checked (it must sit inside a landmark).
    settings.DEMO_UPSTREAM = True
    with live_django("localhost") as server:
        yield server


@pytest.fixture
def world(transactional_db: None) -> World:
    world = build_world()
    make_package("bigpkg", first=LATEST - dt.timedelta(days=200), latest=LATEST, base=50_000)
    put_series("django", lambda d: 400_000 + 90_000 * (d.weekday() < 5), days=200, latest=LATEST)
    all_pypi(lambda d: 1_600_000_000, days=200, latest=LATEST)
    return world


def _signed_in(
    browser: Browser, app: LiveDjango, world: World, scheme: Literal["light", "dark"]
) -> Any:
    client = Client()
    client.force_login(world.alice)
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 800}
    )
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": app.url}]
    )
    return context


def _violations(page: Page, url: str) -> list[dict[str, Any]]:
    page.goto(url)
    if page.locator("canvas[data-chart]").count():
        page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FAIL]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_violations_on_any_page_type(
    browser: Browser, app: LiveDjango, world: World, scheme: Literal["light", "dark"]
) -> None:
    team_list, team = world.team_list, world.team
    assert team_list.public_token
    signed_in = {
        "dashboard": "/dashboard/",
        "watchlist": f"/watchlists/{team_list.uid}/",
        "team": f"/teams/{team.uid}/",
        "package (signed in)": "/packages/bigpkg/",
    }
    signed_out = {
        "home": "/",
        "package": "/packages/bigpkg/?agg=week&scale=log",
        "compare": "/compare/?packages=django,bigpkg&mode=share_pypi",
        "login": "/accounts/login/",
        "public watchlist": f"/watchlists/shared/{team_list.public_token}/",
    }
    report: dict[str, list[dict[str, Any]]] = {}
    anonymous = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 800}
    )
    for name, path in signed_out.items():
        report[name] = _violations(anonymous.new_page(), app.url + path)
    anonymous.close()
    context = _signed_in(browser, app, world, scheme)
    for name, path in signed_in.items():
        page = context.new_page()
        report[name] = _violations(page, app.url + path)
        assert "/accounts/login/" not in page.url, name
    context.close()
    failing = {
        name: [(v["id"], v["impact"], [n["target"] for n in v["nodes"]]) for v in found]
        for name, found in report.items()
        if found
    }
    assert failing == {}, "\n".join(f"{name}: {found}" for name, found in failing.items())


def test_focus_returns_to_the_control_used_after_an_htmx_swap(
    browser: Browser, app: LiveDjango, world: World
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    for url, control in (
        (f"{app.url}/packages/bigpkg/", "#charts [data-control=agg] a:has-text('Weekly')"),
        (
            f"{app.url}/compare/?packages=django,bigpkg",
            "[data-control=scale] a:has-text('Log')",
        ),
    ):
        page.goto(url)
        page.wait_for_function("() => document.documentElement.dataset.chartsDrawn")
        drawn = page.evaluate("() => Number(document.documentElement.dataset.chartsDrawn)")
        page.focus(control)
        page.keyboard.press("Enter")
        page.wait_for_function(
            f"() => Number(document.documentElement.dataset.chartsDrawn) > {drawn}"
        )
        # The swapped-in copy of the control that was used has the focus, not <body>.
        focused = page.evaluate(
            "() => { const a = document.activeElement;"
            " return a && a.closest('[data-control]') ? [a.closest('[data-control]').dataset.control,"
            " a.textContent.trim(), a.getAttribute('aria-current')] : a && a.tagName; }"
        )
        expected = ["agg", "Weekly", "true"] if "packages/" in url else ["scale", "Log", "true"]
        assert focused == expected, (url, focused)
        # The ring is drawn whole: inside the link, which its control does not clip.
        ring = page.evaluate(
            "() => { const a = document.activeElement; const s = getComputedStyle(a);"
            " const seg = getComputedStyle(a.closest('.seg'));"
            " return [s.outlineStyle, parseFloat(s.outlineWidth), parseFloat(s.outlineOffset),"
            " seg.overflowX, seg.overflowY]; }"
        )
        style, width, offset, *_ = ring
        assert style == "solid" and width >= 2 and offset <= -width, ring
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator(".control:has(:focus)").screenshot(
            path=str(ARTIFACTS / f"focus-{'package' if 'packages/' in url else 'compare'}.png")
        )
    context.close()

"""Issue #14's walk in headless Chromium: a new user signs up, creates a watchlist from a
package page, reaches compare from the header and from a package page, adds a package by
its highlighted suggestion, bulk-imports 8 lines of which several start fetching and then
finish together, and meets no console error and no 4xx/5xx it did not ask for.
Screenshots of each fixed state land in test-artifacts/ (flows-*.png)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from pytest_django import Settings

from packages_app.models import Package, RecentDownloads
from tests.e2e.conftest import ARTIFACTS
from tests.live import LiveDjango, live_django
from tests.world import PASSWORD, add_series

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

pytestmark = pytest.mark.e2e

SUNDAY = dt.date(2026, 11, 22)
NEW = ["brand-new-a", "brand-new-b", "brand-new-c", "brand-new-d"]


@pytest.fixture
def app_server(settings: Settings, transactional_db: None) -> Iterator[LiveDjango]:
    """Started after the per-test settings (no SSL redirect), as in test_watchlists."""
    with live_django("localhost") as server:
        yield server


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"flows-{name}.png"), full_page=True)


class Watcher:
    """Every console error, uncaught script error and 4xx/5xx answer a page meets."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console: {message.text} at {message.location}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status} {response.request.method} {response.url}")


def _packages() -> None:
    for name, base in [("requests", 9000), ("flask", 3000), ("numpy", 6000), ("httpx", 1000)]:
        package = Package.objects.create(name=name)
        add_series(package, SUNDAY, [base + (i % 7) * 10 + i for i in range(100)])
        RecentDownloads.objects.create(
            package=package, last_day=base, last_week=base * 7, last_month=base * 30
        )


def test_a_new_user_walks_every_door(app_server: LiveDjango, browser: Browser) -> None:
    _packages()
    base = app_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watcher = Watcher(page)

    # Signs up: the card stands clear of the header.
    page.goto(f"{base}/accounts/signup/")
    shot(page, "1-signup")
    page.fill("#id_username", "walker")
    page.fill("#id_email", "walker@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign up')")
    page.wait_for_url("**/dashboard/")

    # Creates a watchlist from a package page: a POST form, not a link to a 405.
    page.goto(f"{base}/packages/flask/")
    page.wait_for_selector("text=No watchlist yet")
    shot(page, "2-package-no-watchlist")
    page.click("button:has-text('Create with flask')")
    page.wait_for_selector("h1:has-text('My packages')")
    assert re.search(r"/watchlists/[0-9a-f-]{36}/$", page.url), page.url
    page.wait_for_selector("text=Added: flask.")
    assert page.get_attribute("#row-flask a", "href") == "/packages/flask/"
    list_url = page.url

    # Compare from the header...
    page.click("header.site-header >> a:text-is('Compare')")
    page.wait_for_url(f"{base}/compare/")
    page.wait_for_selector("#compare-add")
    # ...and from a package page, prefilled with it.
    page.goto(f"{base}/packages/requests/")
    page.click("a.compare-with")
    page.wait_for_url("**/compare/?packages=requests")
    page.wait_for_selector(".chips >> text=requests")

    # Adds a package by its suggestion: "fla" + Enter takes the highlighted "flask".
    page.fill("#compare-add", "fla")
    page.wait_for_selector("#compare-suggestions a.active >> text=flask")
    shot(page, "3-compare-suggestion")
    page.press("#compare-add", "Enter")
    page.wait_for_url(re.compile(r".*packages=requests(%2C|,)flask.*"))
    page.wait_for_selector(".chips >> text=flask")
    assert page.locator(".chips >> text=/^fla$/").count() == 0
    shot(page, "4-compare-added")

    # Bulk-imports 8 lines: three tracked packages and four that start fetching.
    page.goto(list_url)
    page.evaluate("window.__marker = 'no reload'")
    page.fill("#bulk-text", "# deps\nrequests>=2\nnumpy\nhttpx\n" + "\n".join(NEW) + "\n")
    page.click("text=Add all")
    page.wait_for_selector("text=Now tracking " + ", ".join(NEW))
    for name in NEW:
        assert page.is_visible(f"#row-{name} >> text=Fetching")
    # One poll for the table, none per row.
    assert page.locator("[hx-trigger='every 5s']").count() == 1
    shot(page, "5-bulk-fetching")

    # All four finish at once (as the worker would write them): the rows update together,
    # with no htmx error, and the polling stops.
    for index, name in enumerate(NEW):
        add_series(Package.objects.get(name=name), SUNDAY, [100 * (index + 1)] * 100)
    for name in NEW:
        page.wait_for_selector(f"#row-{name} svg.sparkline", timeout=20_000)
    assert page.locator("text=Fetching").count() == 0
    assert page.locator("[hx-trigger='every 5s']").count() == 0
    assert page.inner_text("tfoot th") == "Total (8)"
    assert page.evaluate("window.__marker") == "no reload"
    shot(page, "6-bulk-done")

    # The footer's status is a page for people; the icon is there.
    page.click("footer >> a:text-is('Status')")
    page.wait_for_url(f"{base}/status/")
    page.wait_for_selector("h1:has-text('Status')")
    assert page.request.get(f"{base}/favicon.ico").status == 200
    shot(page, "7-status")

    assert watcher.problems == [], watcher.problems


def test_fixed_states_look_right(app_server: LiveDjango, browser: Browser) -> None:
    """Screenshots of the other fixed states, with the same watch for errors."""
    from django.contrib.auth import get_user_model

    from watchlists import services

    _packages()
    base = app_server.url
    admin = get_user_model().objects.create_superuser("root", "root@example.org", PASSWORD)
    team = services.team_create(name="Crew of Ann", user=admin)
    invitation = services.invitation_create(team=team, user=admin)
    failing = Package.objects.get(name="httpx")
    failing.paused = True
    failing.last_error = (
        "HTTPStatusError: Server error '502 Bad Gateway' for url "
        "'https://pypistats.org/api/packages/httpx/python_minor?mirrors=false&"
        + "x" * 200
        + "'\nFor more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/502"
    )
    failing.save()

    # A signed-out invitation link: the login page names the team.
    visitor = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch_visitor = Watcher(visitor)
    visitor.goto(f"{base}/invitations/{invitation.token}/")
    visitor.wait_for_selector(".invitation-note >> text=Crew of Ann")
    shot(visitor, "8-invitation-login")
    visitor.goto(f"{base}/")
    shot(visitor, "9-home")
    visitor.goto(f"{base}/packages/httpx/")
    visitor.wait_for_selector("text=paused by an operator")
    visitor.check("input[name=badge-format][value=rst]")
    visitor.wait_for_selector("#badge-rst-week", state="visible")
    assert not visitor.is_visible("#badge-md-week")
    visitor.click(".js-copy-badge[data-period=week]")
    visitor.wait_for_selector(".badges-panel .copy-status:not(:empty)")
    visitor.locator(".badges-panel").screenshot(path=str(ARTIFACTS / "flows-10-badges-rst.png"))
    # On a phone: the home page and the package page's new parts (badges, notes).
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    watch_phone = Watcher(phone)
    phone.goto(f"{base}/")
    shot(phone, "9-home-phone")
    phone.goto(f"{base}/packages/httpx/")
    phone.locator(".badges-panel").screenshot(path=str(ARTIFACTS / "flows-10-badges-phone.png"))
    panel = phone.locator(".badges-panel").bounding_box()
    assert panel is not None and panel["x"] + panel["width"] <= 390
    assert watch_visitor.problems == [] and watch_phone.problems == [], (
        watch_visitor.problems + watch_phone.problems
    )

    # The operator's change page at 1280 px: buttons, numbers, the whole error.
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watcher = Watcher(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_selector("button:has-text('Log out')")
    page.goto(f"{base}/admin/packages_app/package/{failing.pk}/change/")
    page.wait_for_selector("button:has-text('Resume refreshing')")
    assert page.is_visible("text=7,000") and page.is_visible("button:has-text('Refresh now')")
    box = page.locator("pre.last-error").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1280
    shot(page, "11-admin-package")
    page.click("button:has-text('Resume refreshing')")
    page.wait_for_selector("text=Resumed: the package is due now.")
    page.wait_for_selector("button:has-text('Pause refreshing')")

    # The alerts form: one field per meaning.
    watchlist = services.watchlist_create(name="Ops", user=admin)
    page.goto(f"{base}/watchlists/{watchlist.uid}/alerts/")
    page.select_option("#id_kind", "stale")
    page.click("button:has-text('Add alert')")
    page.wait_for_selector(".errorlist >> text=Give a number of days from 1 to 365.")
    shot(page, "12-alerts-form-error")
    page.fill("#id_stale_days", "3")
    page.click("button:has-text('Add alert')")
    page.wait_for_selector("text=no new data for 3 days")
    # The only 4xx asked for (and Chromium's console line about it): the alert form sent
    # without its number of days.
    asked = f"/watchlists/{watchlist.uid}/alerts/add/"
    assert [p for p in watcher.problems if asked not in p] == [], watcher.problems
    assert len(watcher.problems) == 2, watcher.problems

"""End to end in headless Chromium: two people, a team, a shared watchlist, a public link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from pytest_django import Settings

from packages_app.models import Package
from tests.e2e.conftest import ARTIFACTS
from tests.live import LiveDjango, live_django
from tests.world import add_series

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


@pytest.fixture
def app_server(settings: Settings, transactional_db: None) -> Iterator[LiveDjango]:
    """A live server started AFTER the per-test settings (no SSL redirect, plain static).

    pytest-django's session-wide live_server may start before those overrides, and its
    SecurityMiddleware, built at start, would then redirect every request to https.
    """
    with live_django("localhost") as server:
        yield server


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"watchlists-{name}.png"), full_page=True)


def sign_up(page: Page, username: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("form button[type=submit]:has-text('Sign up')")


def table_packages(page: Page) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#watchlist-table tbody tr", "rows => rows.map(r => r.dataset.package)"
    )
    return names


def test_team_watchlist_end_to_end(app_server: LiveDjango, browser: Browser) -> None:
    live_server = app_server
    sunday = dt.date(2026, 11, 22)
    for name, base in [("requests", 900), ("flask", 300), ("numpy", 600), ("httpx", 100)]:
        package = Package.objects.create(name=name)
        add_series(package, sunday, [base + (i % 7) * 10 + i for i in range(100)])
    errors: list[str] = []

    # Ann signs up and creates a team.
    ann_ctx = browser.new_context()
    ann = ann_ctx.new_page()
    ann.on(
        "console",
        lambda m: errors.append(f"{ann.url} {m.location} {m.text}") if m.type == "error" else None,
    )
    ann.goto(f"{live_server.url}/accounts/signup/")
    sign_up(ann, "ann")
    ann.wait_for_url("**/dashboard/")
    ann.click("nav >> text=Teams")
    ann.fill("#id_name", "Ann's crew")
    ann.click("text=Create team")
    ann.wait_for_selector("text=Team Ann's crew created")
    ann.click("text=Create an invitation link")
    link = ann.input_value("ul.invitations input")
    assert "/invitations/" in link
    shot(ann, "1-team")

    # Ben, in a second browser context, opens the link, signs up and joins.
    ben_ctx = browser.new_context()
    ben = ben_ctx.new_page()
    ben.goto(link)
    assert "/accounts/login/" in ben.url
    ben.click("text=Create an account")
    sign_up(ben, "ben")
    ben.wait_for_selector("text=Join the team as ben")
    shot(ben, "2-invitation")
    ben.click("text=Join the team as ben")
    ben.wait_for_selector("text=You joined the team Ann's crew")
    # The link worked once: opening it again says so... for anyone else.

    # Ann creates a team watchlist.
    ann.goto(f"{live_server.url}/watchlists/")
    ann.fill("#id_name", "Crew deps")
    ann.select_option("#id_owner", label="Team Ann's crew")
    ann.click("form button:has-text('Create')")
    ann.wait_for_selector("h1:has-text('Crew deps')")
    list_url = ann.url
    ann.evaluate("window.__marker = 'no reload'")

    # Paste a requirements file: names in, bad line reported, no reload.
    ann.fill(
        "#bulk-text",
        "# app\nrequests==2.31.0 --hash=sha256:abc\nnumpy[extra]; python_version>'3.9'\n"
        "-r other.txt\nnot a package!\nbrand-new-pkg>=1\n",
    )
    ann.click("text=Add all")
    ann.wait_for_selector("text=Added: requests, numpy, brand-new-pkg.")
    ann.wait_for_selector("text=Line 5")
    assert sorted(table_packages(ann)) == ["brand-new-pkg", "numpy", "requests"]
    assert ann.is_visible("#row-brand-new-pkg >> text=Fetching")
    assert ann.evaluate("window.__marker") == "no reload"
    shot(ann, "3-pasted")

    # The first refresh lands (as the worker would write it): the polling row picks it up
    # within one 5 s poll, the totals follow, and the polling stops.
    before_total = ann.inner_text("tfoot td.num >> nth=1")
    add_series(Package.objects.get(name="brand-new-pkg"), sunday, [5000] * 100)
    ann.wait_for_selector("#row-brand-new-pkg svg.sparkline", timeout=15_000)
    assert ann.inner_text("tfoot td.num >> nth=1") != before_total
    assert ann.locator("[hx-trigger='every 5s']").count() == 0
    assert ann.evaluate("window.__marker") == "no reload"

    # A refused name says why and stays in the box to be fixed.
    ann.fill("#add-name", "no such/name")
    ann.click("#add-name ~ button:has-text('Add')")
    ann.wait_for_selector("text=not a valid package name")
    assert ann.input_value("#add-name") == "no such/name"

    # Add one by name with a suggestion, then remove one: still no reload.
    ann.fill("#add-name", "fla")
    ann.wait_for_selector("#suggestions >> text=Add flask")
    shot(ann, "4-suggestions")
    ann.click("#suggestions >> text=Add flask")
    ann.wait_for_selector("#row-flask")
    assert ann.input_value("#add-name") == ""
    ann.click("#row-numpy >> button:has-text('Remove')")
    ann.wait_for_selector("#row-numpy", state="detached")
    assert ann.evaluate("window.__marker") == "no reload"

    # Sort by last week, both ways; the URL follows.
    ann.click("th >> text=Last week")
    ann.wait_for_url("**?sort=week")
    assert table_packages(ann) == ["flask", "requests", "brand-new-pkg"]
    ann.click("th >> text=Last week")
    ann.wait_for_url("**?sort=-week")
    assert table_packages(ann) == ["brand-new-pkg", "requests", "flask"]
    assert ann.evaluate("window.__marker") == "no reload"
    shot(ann, "5-sorted")

    # Ben sees the team list too.
    ben.goto(list_url)
    ben.wait_for_selector("#row-requests")
    ben.goto(f"{live_server.url}/dashboard/")
    ben.wait_for_selector("text=Crew deps")
    shot(ben, "7-dashboard")

    # Ann shares it publicly; a signed-out visitor reads it, without edit controls.
    ann.click("text=Settings and sharing")
    ann.click("text=Create a public link")
    public_url = ann.input_value("#public-url")
    shot(ann, "8-settings")
    visitor = browser.new_context().new_page()
    visitor.goto(public_url)
    visitor.wait_for_selector("#row-requests")
    assert visitor.locator("text=Remove").count() == 0
    assert visitor.locator("#bulk-text").count() == 0
    assert visitor.locator("text=Log in").count() >= 1
    assert visitor.locator("svg.sparkline polyline").count() >= 2
    shot(visitor, "6-public")
    csp = [e for e in errors if "Content Security Policy" in e]
    assert not csp, csp

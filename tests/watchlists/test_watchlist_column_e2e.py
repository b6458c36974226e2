"""The watchlist's breakdown column in headless Chromium (issue #16 item 4): the owner picks
"uv share" in the list's settings, the list shows it beside the figures, light and dark;
axe finds no serious violation. On the ClickHouse stand-in; screenshots under
test-artifacts/breakdowns/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal

import pytest
from django.conf import settings as django_settings
from django.test import Client
from pytest_django import Settings

from packages_app.models import Package
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_accessibility import ALSO_FAIL, AXE, RUN_AXE
from tests.live import live_django
from tests.packages_app.history.conftest import ch, ch_settings, clickhouse  # noqa: F401
from tests.world import make_user
from watchlists import services

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.e2e]
SHOTS = ARTIFACTS / "breakdowns"


@pytest.fixture
def live_app(transactional_db: None, ch_settings: Settings) -> Iterator[str]:  # noqa: F811
    with live_django("localhost") as server:
        yield server.url


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_owner_adds_the_uv_share_column(
    browser: Browser, live_app: str, scheme: Literal["light", "dark"]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    owner = make_user(f"owner-{scheme}")
    watchlist = services.watchlist_create(name="HTTP clients", user=owner)
    for name in ("httpx", "sqlalchemy"):
        Package.objects.get_or_create(name=name)
    services.watchlist_add_packages(watchlist=watchlist, names=["httpx", "sqlalchemy"], user=owner)
    client = Client()
    client.force_login(owner)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(
        bypass_csp=True, color_scheme=scheme, viewport={"width": 1280, "height": 900}
    )
    context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_app}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_app}/watchlists/{watchlist.uid}/settings/")
    page.select_option('select[name="column"]', "installer:uv")
    page.locator("form", has=page.locator('select[name="column"]')).locator(
        'button[type="submit"]'
    ).click()
    page.wait_for_load_state()
    page.goto(f"{live_app}/watchlists/{watchlist.uid}/")
    header = page.locator('th[data-extra-column="installer:uv"]')
    assert header.inner_text() == "uv share"
    cells = page.locator("td[data-extra-cell]")
    assert cells.count() == 2
    assert all(text.endswith("%") for text in cells.all_inner_texts())
    # Every row, the totals too, has as many cells as the header.
    width = page.locator("table.watchlist thead th").count()
    for row in page.locator("table.watchlist tbody tr, table.watchlist tfoot tr").all():
        cells_of = row.locator("th, td")
        spans = sum(int(c.get_attribute("colspan") or 1) for c in cells_of.all())
        assert spans == width
    page.screenshot(path=str(SHOTS / f"watchlist-uv-column-{scheme}.png"), full_page=True)
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, object]] = page.evaluate(RUN_AXE)
    serious = [v for v in found if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FAIL]
    assert serious == []
    assert errors == []
    context.close()

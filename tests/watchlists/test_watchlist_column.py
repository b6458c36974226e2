"""A watchlist's breakdown column (issue #16 item 4): chosen by the list's owner in its
settings, shown to every viewer (and on the public link), read from the ClickHouse stand-in
for the whole list at once; the page's database queries do not grow with it. Expected
numbers from the stand-in's model, never from the code under test."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.models import Package
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.conftest import ch, ch_settings, clickhouse  # noqa: F401
from tests.packages_app.history.test_breakdown_compare import installs
from tests.packages_app.history.test_breakdowns import expected
from tests.world import World
from watchlists import services
from watchlists.models import ListColumn, Visibility, Watchlist

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)


def _with_packages(world: World) -> Watchlist:
    watchlist = world.team_list
    for name in ("httpx", "sqlalchemy"):
        Package.objects.get_or_create(name=name, defaults={"tracked": True})
    services.watchlist_add_packages(
        watchlist=watchlist, names=["httpx", "sqlalchemy"], user=world.alice
    )
    return watchlist


def _save(world: World, who: str, watchlist: Watchlist, column: str) -> int:
    client = world.client_for(who)
    response = client.post(
        reverse("watchlist_update", args=[watchlist.uid]),
        {"name": watchlist.name, "visibility": watchlist.visibility, "column": column},
    )
    return response.status_code


def _cells(html: str) -> dict[str, str]:
    found = re.findall(
        r'<tr id="row-([a-z0-9-]+)".*?<td class="num" data-extra-cell>(.*?)</td>', html, re.S
    )
    return {name: re.sub(r"<[^>]+>", "", cell).strip() for name, cell in found}


def uv_week(name: str) -> str:
    days = [installs(d) for d in expected(name, LATEST - 6 * ONE_DAY, LATEST).installers]
    uv = sum(d["uv"] for d in days)
    whole = sum(sum(d.values()) for d in days)
    return f"{round(100.0 * uv / whole, 2):.2f}%"


def test_owner_chooses_uv_share_and_every_viewer_sees_it(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    assert _save(world, "alice", watchlist, ListColumn.UV) == 302
    watchlist.refresh_from_db()
    assert watchlist.column == "installer:uv"
    page = world.client_for("bob").get(reverse("watchlist_detail", args=[watchlist.uid]))
    html = page.content.decode()
    assert 'data-extra-column="installer:uv"' in html
    cells = _cells(html)
    assert cells["httpx"] == uv_week("httpx")
    assert cells["sqlalchemy"] == uv_week("sqlalchemy")
    # The public view shows it too.
    services.watchlist_update(
        watchlist=watchlist, name=watchlist.name, visibility=Visibility.PUBLIC
    )
    watchlist.refresh_from_db()
    public = world.client_for("anonymous").get(
        reverse("watchlist_public", args=[watchlist.public_token])
    )
    assert _cells(public.content.decode())["httpx"] == uv_week("httpx")


def test_on_latest_release_names_the_release(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    assert _save(world, "alice", watchlist, ListColumn.LATEST) == 302
    html = world.client_for("alice").get(reverse("watchlist_detail", args=[watchlist.uid]))
    cells = _cells(html.content.decode())
    week = expected("httpx", LATEST - 6 * ONE_DAY, LATEST).versions
    whole = sum(sum(d.values()) for d in week)
    # The newest final release: the one the page names next to its share.
    share, version = cells["httpx"].split()
    mine = sum(d[version] for d in week)
    assert share == f"{round(100.0 * mine / whole, 2):.2f}%"
    assert "On latest release" in html.content.decode()


def test_a_team_member_who_does_not_own_the_list_cannot_change_it(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    # bob is a member of alice's team, not its owner: the settings are not his.
    assert _save(world, "bob", watchlist, ListColumn.UV) == 403
    assert _save(world, "charlie", watchlist, ListColumn.UV) == 404
    watchlist.refresh_from_db()
    assert watchlist.column == ""


def test_a_bad_choice_is_a_form_error(
    world: World,
    ch_settings: Settings,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    response = world.client_for("alice").post(
        reverse("watchlist_update", args=[watchlist.uid]),
        {"name": watchlist.name, "visibility": watchlist.visibility, "column": "installer:npm"},
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_the_query_count_does_not_grow_with_the_column(
    world: World,
    ch_settings: Settings,  # noqa: F811
    ch: DemoClickHouse,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    client = world.client_for("alice")
    url = reverse("watchlist_detail", args=[watchlist.uid])
    client.get(url)
    with CaptureQueriesContext(connection) as without:
        client.get(url)
    services.watchlist_update(
        watchlist=watchlist,
        name=watchlist.name,
        visibility=watchlist.visibility,
        column="installer:uv",
    )
    ch.clear_queries()
    client.get(url)
    # Two ClickHouse queries for the whole list (dates, shares), then none: cached.
    assert len(ch.queries) == 2
    ch.clear_queries()
    with CaptureQueriesContext(connection) as with_column:
        response = client.get(url)
    assert ch.queries == []
    assert len(with_column) == len(without)
    assert "data-extra-cell" in response.content.decode()


def test_clickhouse_off_hides_the_column_and_the_choice(world: World, settings: Settings) -> None:
    settings.CLICKHOUSE_URL = ""
    watchlist = world.team_list
    services.watchlist_update(
        watchlist=watchlist,
        name=watchlist.name,
        visibility=watchlist.visibility,
        column="installer:uv",
    )
    html = world.client_for("alice").get(reverse("watchlist_detail", args=[watchlist.uid]))
    assert "data-extra-column" not in html.content.decode()
    form = world.client_for("alice").get(reverse("watchlist_settings", args=[watchlist.uid]))
    assert 'name="column"' not in form.content.decode()
    # Saving the settings keeps the stored choice for when ClickHouse is back.
    assert _save(world, "alice", watchlist, "") == 302
    watchlist.refresh_from_db()
    assert watchlist.column == "installer:uv"


def test_clickhouse_down_leaves_the_page_up(
    world: World,
    ch_settings: Settings,  # noqa: F811
    ch: DemoClickHouse,  # noqa: F811
) -> None:
    watchlist = _with_packages(world)
    services.watchlist_update(
        watchlist=watchlist,
        name=watchlist.name,
        visibility=watchlist.visibility,
        column="installer:uv",
    )
    ch.set_faults(status=503)
    response = world.client_for("alice").get(reverse("watchlist_detail", args=[watchlist.uid]))
    assert response.status_code == 200
    assert "ClickHouse is not answering" in response.content.decode()

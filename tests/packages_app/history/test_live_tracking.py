"""From "Track" on an untracked package's page until its data is stored (#15 item 4): the page
keeps the live ClickHouse charts with a "fetching history" note, then switches to the stored
charts once both its upstream days and its ClickHouse history have landed. On the stand-in
and the demo upstream; the same rule on compare and the exports."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import services as history_services
from packages_app.history.client import ClickHouseClient
from packages_app.history.models import HistoryState, PackageHistory
from packages_app.models import Package
from packages_app.sync import services as sync_services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
NOTE = "Fetching httpx's history…"


@pytest.fixture
def ada(client: Client) -> User:
    user = get_user_model().objects.create_user("ada", password="pw-123456789")
    client.force_login(user)
    return user


def refresh_upstream(
    package: Package, demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    with client_for(demo) as upstream:
        sync_services.refresh_package(package_id=package.pk, client=upstream)


def backfill(package: Package, ch_client: Callable[..., ClickHouseClient]) -> None:
    with ch_client() as client:
        history_services.package_backfill(package_id=package.pk, client=client)


def test_after_track_the_page_keeps_the_live_charts_until_the_history_is_stored(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    ada: User,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    before = client.get("/packages/httpx/?range=all")
    assert "Track httpx" in before.content.decode()
    assert client.post("/packages/httpx/track/").status_code == 302
    package = Package.objects.get(name="httpx")
    first = model.first_download_date("httpx").isoformat()

    # Tracked, nothing stored yet: the same live charts, with the note instead of "Track".
    tracked = client.get("/packages/httpx/?range=all")
    html = tracked.content.decode()
    assert tracked.status_code == 200
    assert tracked.context["payload"]["window"]["start"] == first
    assert tracked.context["payload"] == before.context["payload"]
    assert NOTE in html and "Track httpx" not in html
    assert 'hx-get="/packages/httpx/status/?live=1"' in html and 'hx-trigger="every 2s"' in html
    assert "tracked here, its history being fetched" in html
    assert "waiting for data" not in html and "Fetching httpx from PyPI Stats" not in html

    # Upstream's 181 days land first: still live (a stored page would show 181 days only).
    refresh_upstream(package, demo, client_for)
    package.refresh_from_db()
    assert package.has_data
    half = client.get("/packages/httpx/?range=all")
    assert half.context["payload"]["window"]["start"] == first
    assert NOTE in half.content.decode()
    poll = client.get("/packages/httpx/status/?live=1", headers=HX)
    assert poll.status_code == 200 and NOTE in poll.content.decode()

    # The ClickHouse history lands: the poll stops and reloads, the page is the stored one.
    backfill(package, ch_client)
    poll = client.get("/packages/httpx/status/?live=1", headers=HX)
    assert poll.status_code == 286 and poll["HX-Refresh"] == "true"
    stored = client.get("/packages/httpx/?range=all")
    html = stored.content.decode()
    assert "read live from ClickHouse" not in html and NOTE not in html
    assert stored.context["payload"]["window"]["start"] == first
    assert (
        stored.context["payload"]["data_version"] == Package.objects.get(pk=package.pk).data_version
    )
    assert "ClickHouse until" in html and "then the PyPI Stats API" in html


def test_the_history_landing_before_upstream_keeps_the_live_page(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    ada: User,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    client.post("/packages/httpx/track/")
    package = Package.objects.get(name="httpx")
    backfill(package, ch_client)
    assert PackageHistory.objects.get(package=package).state == HistoryState.OK
    # No upstream day yet: the store has no "data as of", the live page stays.
    page = client.get("/packages/httpx/")
    assert NOTE in page.content.decode()
    assert page.context["payload"]["window"]["end"] == LATEST.isoformat()
    assert client.get("/packages/httpx/status/?live=1", headers=HX).status_code == 200
    refresh_upstream(package, demo, client_for)
    assert client.get("/packages/httpx/status/?live=1", headers=HX).status_code == 286
    assert NOTE not in client.get("/packages/httpx/").content.decode()


def test_an_anonymous_visitor_sees_the_same_note(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    sync_services.package_track(name="httpx")
    html = client.get("/packages/httpx/").content.decode()
    assert NOTE in html and "Log in to track it" not in html


def test_clickhouse_failing_while_tracked_falls_back_to_what_is_stored(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    ada: User,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client.post("/packages/httpx/track/")
    package = Package.objects.get(name="httpx")
    ch.set_faults(status=503)
    # Nothing stored: the progress card, not a 503.
    with caplog.at_level(logging.WARNING, logger="packages_app.pages.views.live"):
        waiting = client.get("/packages/httpx/")
    assert waiting.status_code == 200
    assert "Fetching httpx from PyPI Stats" in waiting.content.decode()
    assert any("ClickHouse could not answer for httpx" in r.getMessage() for r in caplog.records)
    # Upstream's days stored, the history still to come: the stored page and export.
    refresh_upstream(package, demo, client_for)
    stored = client.get("/packages/httpx/")
    assert stored.status_code == 200
    assert "read live from ClickHouse" not in stored.content.decode()
    assert stored.context["payload"]["window"]["end"] == LATEST.isoformat()
    exported = client.get("/packages/httpx/export.json?range=30")
    assert exported.status_code == 200
    window = json.loads(exported.content)["window"]
    assert (window["end"], window["days"]) == (LATEST.isoformat(), 30)


def test_a_name_clickhouse_never_saw_keeps_the_progress_card_when_tracked(
    ch_settings: Settings, ch: DemoClickHouse, client: Client, ada: User
) -> None:
    client.post("/packages/no-such-project-anywhere/track/")
    response = client.get("/packages/no-such-project-anywhere/")
    assert response.status_code == 200
    assert "Fetching no-such-project-anywhere from PyPI Stats" in response.content.decode()


def test_compare_and_the_export_read_a_package_tracked_a_moment_ago_live(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    ada: User,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
) -> None:
    client.post("/packages/httpx/track/")
    package = Package.objects.get(name="httpx")
    refresh_upstream(package, demo, client_for)
    response = client.get("/compare/?packages=httpx&range=all")
    assert response.status_code == 200
    payload = response.context["payload"]
    assert payload["packages"] == ["httpx"]
    # ClickHouse's first day, not upstream's: read live while the history is on the way.
    assert payload["stats"][0]["first_date"] == model.first_download_date("httpx").isoformat()
    assert response.context["waiting"] == []
    exported = json.loads(client.get("/packages/httpx/export.json?range=all").content)
    assert exported["window"]["start"] == model.first_download_date("httpx").isoformat()


def test_with_the_source_off_tracking_shows_the_progress_card_as_before(
    settings: Settings, client: Client, ada: User
) -> None:
    settings.CLICKHOUSE_URL = ""
    cache.clear()
    client.post("/packages/httpx/track/")
    html = client.get("/packages/httpx/").content.decode()
    assert "Fetching httpx from PyPI Stats" in html and "ClickHouse" not in html

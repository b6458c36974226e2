"""The compatible API after a backfill: default answers are upstream's bytes; start_date reaches back."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest
from django.test import Client

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import services
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package, Source
from packages_app.store import points
from packages_app.sync import services as sync_services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app import golden
from tests.packages_app.demo.clickhouse_support import LATEST, stand_in_process

pytestmark = pytest.mark.django_db

GOLDEN_PACKAGES = ("demo-pkg", "old-only", "zope-interface")


# A stand-in of the golden packages as a process of its own (chdb holds one database per
# process), building its data: serially (make test).
@pytest.mark.stack
def test_golden_answers_stay_byte_identical_after_a_backfill(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient], client: Client
) -> None:
    packages = golden.load_seed()
    replay = [c for c in golden.captures() if c.target not in {"/health", "/status"}]

    def answers() -> dict[str, tuple[int, str, bytes]]:
        result = {}
        for capture in replay:
            response = client.generic(capture.method, capture.target)
            result[capture.target] = (
                response.status_code,
                response["Content-Type"],
                response.content,
            )
        return result

    before = answers()
    # The golden packages in ClickHouse too: every day since their first download, the
    # days of upstream's window included. In a stand-in of its own, in another process:
    # chdb holds one database per process, and this one's must keep the tests' packages only.
    with (
        stand_in_process(GOLDEN_PACKAGES) as golden_ch,
        ch_client(base_url=golden_ch.url) as ch_api,
    ):
        for name in GOLDEN_PACKAGES:
            result = services.package_backfill(package_id=packages[name].pk, client=ch_api)
            assert result.state == "ok" and result.written > 1000, name
    demo = Package.objects.get(name="demo-pkg")
    assert demo.first_date is not None and demo.latest_date is not None
    window = {
        date
        for *_, date, _ in points.read(
            package_ids=[demo.pk],
            source=Source.CLICKHOUSE,
            start=demo.latest_date - dt.timedelta(days=180),
        )
    }
    assert len(window) == 181  # ClickHouse holds every day of the default window
    after = answers()
    assert after == before
    # ... and those are the captures' bytes where no documented difference applies.
    for capture in replay:
        status, content_type, body = after[capture.target]
        if body.replace(b"http://testserver", golden.CAPTURE_ORIGIN.encode()) == capture.body:
            assert (status, content_type) == (capture.status, capture.content_type)


def test_start_date_reaches_back_into_clickhouse_and_upstream_wins_in_its_window(
    ch_client: Callable[..., ClickHouseClient],
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    client: Client,
) -> None:
    package = sync_services.package_track(name="httpx")[0]
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    default_before = client.get("/api/packages/httpx/overall?mirrors=false").content
    with ch_client() as ch_api:
        services.package_backfill(package_id=package.pk, client=ch_api)
    package.refresh_from_db()
    boundary = package.first_date
    assert boundary is not None
    assert client.get("/api/packages/httpx/overall?mirrors=false").content == default_before

    start = boundary - dt.timedelta(days=400)
    response = client.get(
        f"/api/packages/httpx/overall?mirrors=false&start_date={start.isoformat()}"
    )
    assert response.status_code == 200
    rows = {dt.date.fromisoformat(r["date"]): r["downloads"] for r in response.json()["data"]}
    assert min(rows) == start and max(rows) == LATEST
    assert len(rows) == (LATEST - start).days + 1  # no day twice, none missing
    upstream = points.by_package(
        package_ids=[package.pk],
        metric=1,
        category="without_mirrors",
        source=Source.UPSTREAM,
    )[package.pk]
    for day, downloads in rows.items():
        if day < boundary:
            assert downloads == model.day_totals("httpx", day).without_mirrors
        else:
            assert downloads == upstream[day]
    # Dates stay in order across the boundary (the wire's category-then-date order).
    dates = [r["date"] for r in response.json()["data"]]
    assert dates == sorted(dates)
    # An end_date before upstream's window answers from ClickHouse alone.
    end = boundary - dt.timedelta(days=1)
    old = client.get(
        f"/api/packages/httpx/python_major?start_date={start.isoformat()}&end_date={end.isoformat()}"
    )
    body = json.loads(old.content)
    assert body["data"] and all(
        start.isoformat() <= r["date"] <= end.isoformat() for r in body["data"]
    )

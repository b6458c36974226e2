"""The cross-check: days both sources hold, compared on without_mirrors; the stand-in's odd days found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import selectors, services
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync import services as sync_services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db


def both_sources(
    name: str,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> Package:
    package = sync_services.package_track(name=name)[0]
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    package.refresh_from_db()
    return package


@pytest.mark.parametrize("name", ["httpx", "sqlalchemy"])
def test_the_cross_check_finds_the_stand_ins_disagreeing_days(
    name: str,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = both_sources(name, demo, client_for, ch_client)
    assert package.first_date is not None
    expected = model.disagreement_days(name, package.first_date, LATEST)
    assert 2 <= len(expected) <= 3
    found = selectors.agreement(package.pk)
    assert found.compared == (LATEST - package.first_date).days + 1 == 181
    assert [d.date for d in found.disagreements] == expected
    assert found.agreeing == found.compared - len(expected)
    assert found.text == f"{181 - len(expected)} of 181 days agree within 1 %"
    for disagreement in found.disagreements:
        totals = model.day_totals(name, disagreement.date)
        assert disagreement.clickhouse == totals.without_mirrors
        assert disagreement.upstream != disagreement.clickhouse
        assert disagreement.apart > 0.01
    # As data-quality markers, with both numbers, only within the range asked.
    first = expected[0]
    markers = selectors.disagreement_markers(package.pk, first, first)
    assert len(markers) == 1
    marker = markers[0]
    assert (marker.start, marker.end, marker.kind) == (first, first, "sources")
    d = found.disagreements[0]
    assert f"{d.upstream:,}" in marker.label and f"{d.clickhouse:,}" in marker.label
    assert selectors.disagreement_markers(package.pk, LATEST + dt.timedelta(days=1), LATEST) == []


def test_the_tolerance_decides(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = both_sources("sqlalchemy", demo, client_for, ch_client)
    # The stand-in's odd days are 2-8 % apart: a 10 % tolerance accepts them all.
    loose = selectors.agreement(package.pk, tolerance=0.10)
    assert loose.disagreements == [] and loose.agreeing == loose.compared == 181
    assert loose.text == "181 of 181 days agree within 10 %"


def test_nothing_to_compare_without_both_sources(
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = sync_services.package_track(name="httpx")[0]
    assert selectors.agreement(package.pk).compared == 0
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    only_clickhouse = selectors.agreement(package.pk)
    assert (only_clickhouse.compared, only_clickhouse.agreeing) == (0, 0)


def test_sources_and_the_all_time_total(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = both_sources("httpx", demo, client_for, ch_client)
    shown = selectors.sources(package)
    first = model.first_download_date("httpx")
    assert package.first_date is not None
    assert shown.clickhouse_first == first == shown.first
    assert shown.clickhouse_last == package.first_date - dt.timedelta(days=1)
    assert (shown.boundary, shown.upstream_latest) == (package.first_date, LATEST)
    assert shown.clickhouse_latest == LATEST and shown.state == "ok"
    total = selectors.all_time_total(package.pk)
    assert total.since == first and total.through == LATEST and total.with_clickhouse
    assert total.downloads > 0

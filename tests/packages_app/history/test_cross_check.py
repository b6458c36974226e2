"""The cross-check: days both sources hold, compared on without_mirrors; the stand-in's odd days found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest
from pytest_django import DjangoDbBlocker, Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.history import selectors, services
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync import services as sync_services
from tests.module_data import built_once, for_test
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.conftest import both_sources_once

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _both_of_module(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    clickhouse: DemoClickHouse,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, Package]]:
    yield from built_once(
        django_db_blocker,
        lambda: both_sources_once(
            ("httpx", "sqlalchemy"), clickhouse, tmp_path_factory.mktemp("budget")
        ),
    )


@pytest.fixture
def both(
    _both_of_module: dict[str, Package],
    ch_settings: Settings,
    request: pytest.FixtureRequest,
) -> dict[str, Package]:
    """httpx and sqlalchemy, each with upstream's 181 days and ClickHouse's since its first
    download, written once per module (tests/module_data.py); the app on the stand-in."""
    return for_test(request, _both_of_module)


@pytest.mark.parametrize("name", ["httpx", "sqlalchemy"])
def test_the_cross_check_finds_the_stand_ins_disagreeing_days(
    name: str, both: dict[str, Package]
) -> None:
    package = both[name]
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


def test_the_tolerance_decides(both: dict[str, Package]) -> None:
    package = both["sqlalchemy"]
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


def test_sources_and_the_all_time_total(both: dict[str, Package]) -> None:
    package = both["httpx"]
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

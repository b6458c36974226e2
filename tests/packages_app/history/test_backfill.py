"""Backfill from the ClickHouse stand-in: what is stored, under which source, and how it merges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db.models import Min
from pytest_django import Settings

from packages_app.categories import UNKNOWN
from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import services
from packages_app.history.client import ClickHouseClient
from packages_app.history.models import HistoryState, PackageHistory
from packages_app.models import Category, DownloadMonth, Metric, Package, Source
from packages_app.store import points
from packages_app.sync import services as sync_services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.stored_points import held

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


def track(name: str) -> Package:
    return sync_services.package_track(name=name)[0]


def by_source(package: Package, source: Source) -> dict[tuple[int, str, dt.date], int]:
    """{(metric, category, date): downloads} of one source, read back through the store."""
    return {
        (metric, category, date): downloads
        for _, metric, category, date, downloads in points.read(
            package_ids=[package.pk], source=source
        )
    }


def test_a_backfill_stores_every_series_since_the_first_download(
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = track("httpx")
    with ch_client() as client:
        result = services.package_backfill(package_id=package.pk, client=client)
    assert result.state == HistoryState.OK and result.error == ""
    # One query for the dates, then one per series: overall, python_major, python_minor, system.
    assert result.queries == 5
    first = model.first_download_date("httpx")
    assert (result.since, result.through) == (first, LATEST)
    stored = by_source(package, Source.CLICKHOUSE)
    assert by_source(package, Source.UPSTREAM) == {}
    # Every day since the first download, both overall series, as the model holds them.
    for day in (first, first + 400 * ONE_DAY, LATEST):
        totals = model.day_totals("httpx", day)
        assert stored[(Metric.OVERALL, "without_mirrors", day)] == totals.without_mirrors
        assert stored[(Metric.OVERALL, "with_mirrors", day)] == totals.with_mirrors
    assert min(d for _, _, d in stored) == first and max(d for _, _, d in stored) == LATEST
    # Upstream's category names only: '' became null, FreeBSD/OpenBSD/SunOS became other.
    names = {(metric, category) for metric, category, _ in stored}
    assert {c for m, c in names if m == Metric.SYSTEM} <= set(Metric.SYSTEM.categories)
    assert {c for m, c in names if m == Metric.PYTHON_MAJOR} <= set(Metric.PYTHON_MAJOR.categories)
    assert "" not in {c for _, c in names}
    # Every stored point knows its source: its category's.
    sources = set(
        DownloadMonth.objects.filter(package=package).values_list("category__source", flat=True)
    )
    assert sources == {Source.CLICKHOUSE}
    history = PackageHistory.objects.get(package=package)
    assert (history.first_date, history.latest_date) == (first, LATEST)
    assert history.source_latest_date == LATEST and history.queries == 5
    # Upstream's own dates are untouched: the API's window and the boundary are upstream's.
    package.refresh_from_db()
    assert package.first_date is None and package.latest_date is None
    assert package.data_version == 1


def test_clickhouse_and_upstream_agree_category_by_category(
    ch_client: Callable[..., ClickHouseClient],
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
) -> None:
    """The mapping (mirrors rebuilt from installers, null, other) gives upstream's numbers."""
    package = track("sqlalchemy")
    with client_for(demo) as upstream_client:
        assert (
            sync_services.refresh_package(package_id=package.pk, client=upstream_client).status
            == "ok"
        )
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    upstream = by_source(package, Source.UPSTREAM)
    clickhouse = by_source(package, Source.CLICKHOUSE)
    package.refresh_from_db()
    assert package.first_date is not None and package.latest_date == LATEST
    odd = set(model.disagreement_days("sqlalchemy", package.first_date, LATEST))
    assert odd  # the demo data holds some: the cross-check test needs them
    compared = 0
    for (metric, category, day), downloads in upstream.items():
        if day in odd:
            continue
        assert clickhouse.get((metric, category, day)) == downloads, (metric, category, day)
        compared += 1
    # ... and ClickHouse has no category-day upstream lacks on the days both hold.
    extra = {
        key for key in clickhouse if key[2] >= package.first_date and key[2] not in odd
    } - upstream.keys()
    assert extra == set()
    assert compared > 181 * 10
    assert any(c == UNKNOWN for _, c, _ in upstream)  # null really was compared


def test_upstream_wins_where_both_hold_and_clickhouse_fills_the_days_before(
    ch_client: Callable[..., ClickHouseClient],
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
) -> None:
    package = track("httpx")
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    package.refresh_from_db()
    boundary = package.first_date
    assert boundary is not None
    upstream = by_source(package, Source.UPSTREAM)
    clickhouse = by_source(package, Source.CLICKHOUSE)
    merged = points.package_series(
        package_id=package.pk, metrics=list(Metric), start=dt.date(2016, 1, 1), end=LATEST
    )
    flat = {
        (metric, category, day): n
        for metric, by_category in merged.items()
        for category, series in by_category.items()
        for day, n in series.items()
    }
    expected = dict(upstream)
    expected.update({k: v for k, v in clickhouse.items() if k[2] < boundary})
    assert flat == {(int(m), c, d): v for (m, c, d), v in expected.items()}
    # On a disagreement day both are held, and upstream's number is the one shown.
    odd = model.disagreement_days("httpx", boundary, LATEST)[0]
    key = (Metric.OVERALL, "without_mirrors", odd)
    assert upstream[key] != clickhouse[key] and flat[key] == upstream[key]
    # Each category's points come out by date, across the boundary.
    for by_category in merged.values():
        for series in by_category.values():
            assert list(series) == sorted(series)
    # The total counts ClickHouse's days before the boundary and upstream's from it.
    total = points.total_without_mirrors(package.pk)
    assert total == sum(v for (m, c, _), v in expected.items() if c == "without_mirrors")


def test_refreshes_and_backfills_never_erase_each_other(
    ch_client: Callable[..., ClickHouseClient],
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
) -> None:
    package = track("httpx")
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    upstream_before = by_source(package, Source.UPSTREAM)
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    assert by_source(package, Source.UPSTREAM) == upstream_before
    clickhouse_before = by_source(package, Source.CLICKHOUSE)
    demo.advance(1)  # upstream's window moves on: its oldest day is no longer served
    with client_for(demo) as upstream_client:
        sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    assert by_source(package, Source.CLICKHOUSE) == clickhouse_before
    # A second backfill of the same data changes nothing and bumps no version.
    package.refresh_from_db()
    version = package.data_version
    with ch_client() as client:
        again = services.package_backfill(package_id=package.pk, client=client)
    assert again.written == 0 and again.unchanged > 0
    package.refresh_from_db()
    assert package.data_version == version
    # ... and the upstream days held stay, the one upstream dropped included.
    assert by_source(package, Source.UPSTREAM).keys() >= upstream_before.keys()


def test_a_re_read_reads_only_the_days_asked(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient]
) -> None:
    package = track("httpx")
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
        since = LATEST - dt.timedelta(weeks=4)
        ch.clear_queries()
        result = services.package_backfill(package_id=package.pk, client=client, since=since)
    assert (result.since, result.through) == (since, LATEST)
    assert result.written == 0
    series_sql = [q.sql for q in ch.queries if "sum(count)" in q.sql]
    assert len(series_sql) == 4


def test_a_name_clickhouse_never_saw_is_a_state(ch_client: Callable[..., ClickHouseClient]) -> None:
    package = track("no-such-package-anywhere")
    with ch_client() as client:
        result = services.package_backfill(package_id=package.pk, client=client)
    assert result.state == HistoryState.NOT_FOUND and result.queries == 1
    history = PackageHistory.objects.get(package=package)
    assert history.state == HistoryState.NOT_FOUND and history.next_attempt_at is not None
    assert held(package) == set()


def test_all_packages_is_not_a_clickhouse_project(ch_settings: Settings) -> None:
    package = track("__all__")
    result = services.package_backfill(package_id=package.pk)
    assert result.state == HistoryState.NOT_FOUND and result.queries == 0


def test_clickhouse_categories_are_separate_rows(
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    package = track("httpx")
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    pairs = Category.objects.filter(source=Source.CLICKHOUSE).values_list("metric", "name")
    assert (Metric.OVERALL, "without_mirrors") in set(pairs)
    # The upstream refresh's category cache never hands out ClickHouse's ids.
    ids = sync_services.category_ids([(Metric.OVERALL, "without_mirrors")])
    category = Category.objects.get(pk=ids[(Metric.OVERALL, "without_mirrors")])
    assert category.source == Source.UPSTREAM
    assert DownloadMonth.objects.filter(package=package).aggregate(m=Min("month"))["m"] == (
        points.month_of(model.first_download_date("httpx"))
    )


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 503},
        {"quota": True},
        {"malformed": True},
        {"truncate": True},
        {"midstream": True},
        {"delay": 1.0},
    ],
    ids=lambda f: next(iter(f)) + ("" if "status" not in f else str(f["status"])),
)
def test_a_fault_leaves_stored_data_identical_and_is_recorded(
    ch: DemoClickHouse,
    ch_settings: Settings,
    ch_client: Callable[..., ClickHouseClient],
    fault: dict[str, object],
) -> None:
    package = track("httpx")
    with ch_client() as client:
        services.package_backfill(
            package_id=package.pk, client=client, since=LATEST - dt.timedelta(days=90)
        )
    before = held(package)
    version = Package.objects.get(pk=package.pk).data_version
    # The fault hits the system query, the last of the series: the others have answered.
    ch.set_faults(match="system", **fault)  # type: ignore[arg-type]
    if "delay" in fault:
        ch_settings.CLICKHOUSE_READ_TIMEOUT = 0.5
    # Twice the days held: the series that answered carry 90 days nobody holds yet, which a
    # partial write would add. (Not all eight years: the size is not the point here.)
    with ch_client() as client:
        result = services.package_backfill(
            package_id=package.pk, client=client, since=LATEST - dt.timedelta(days=180)
        )
    assert result.state == HistoryState.FAILING and result.error
    assert held(package) == before
    assert Package.objects.get(pk=package.pk).data_version == version
    history = PackageHistory.objects.get(package=package)
    assert history.last_error == result.error and history.last_error_at is not None
    assert history.next_attempt_at is not None
    # Data was held before: the state stays OK (the page shows what is there), the error is noted.
    assert history.state == HistoryState.OK
    if "quota" in fault:
        assert history.consecutive_failures == 0  # the quota's fault, not the package's
    else:
        assert history.consecutive_failures == 1


def test_a_first_backfill_that_fails_marks_the_package_failing(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient]
) -> None:
    package = track("httpx")
    ch.set_faults(status=500)
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    history = PackageHistory.objects.get(package=package)
    assert history.state == HistoryState.FAILING and history.consecutive_failures == 1
    assert held(package) == set()
    ch.clear_faults()
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    history.refresh_from_db()
    assert history.state == HistoryState.OK and history.last_error == ""
    assert history.consecutive_failures == 0 and history.next_attempt_at is None


def test_a_lagging_latest_date_leaves_stored_data_identical_and_is_recorded(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient]
) -> None:
    package = track("httpx")
    with ch_client() as client:
        services.package_backfill(package_id=package.pk, client=client)
    before = held(package)
    ch.set_lag(3)
    with ch_client() as client:
        result = services.package_backfill(package_id=package.pk, client=client)
    assert result.state == HistoryState.FAILING
    assert "ClickHouseLagging" in result.error and str(LATEST) in result.error
    assert result.queries == 1  # no series was read
    assert held(package) == before
    history = PackageHistory.objects.get(package=package)
    assert history.latest_date == LATEST and "lag" in history.last_error.lower()

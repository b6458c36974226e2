from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django import Settings

from packages_app.demo.data import Row
from packages_app.demo.upstream import CORRECTION_DELTA, DemoUpstream, FaultOptions
from packages_app.models import (
    Category,
    Metric,
    Package,
    RecentDownloads,
    RefreshRun,
    UpstreamState,
)
from packages_app.store.points import month_of
from packages_app.sync import services
from packages_app.sync.budget import RequestBudget
from packages_app.sync.upstream import UpstreamClient
from tests.db_triggers import INJECTED, failing_when, month_writes
from tests.packages_app.golden import GOLDEN_TODAY
from tests.stored_points import held

pytestmark = pytest.mark.django_db

SERIES = ("overall", "python_major", "python_minor", "system")


def served(server: DemoUpstream, name: str) -> set[tuple[str, str, str, int]]:
    """Every (metric, category, date, downloads) the upstream serves for a package, over HTTP."""
    rows: set[tuple[str, str, str, int]] = set()
    for endpoint in SERIES:
        response = httpx.get(f"{server.url}/packages/{name}/{endpoint}")
        if response.status_code == 404:
            continue
        for row in response.json()["data"]:
            rows.add((endpoint, row["category"], row["date"], row["downloads"]))
    return rows


def stored(package: Package) -> set[tuple[str, str, str, int]]:
    names = {c.id: (Metric(c.metric).label, c.name) for c in Category.objects.all()}
    return {
        (*names[category_id], date.isoformat(), downloads)
        for category_id, date, downloads in held(package)
    }


def category_id(metric: str, name: str) -> int:
    return Category.objects.get(metric=Metric[metric.upper()], name=name).pk


WRITES = ("INSERT", "UPDATE", "DELETE")


def writes_to(queries: CaptureQueriesContext, table: str) -> list[str]:
    """The captured statements that write to `table`."""
    return [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(WRITES) and table in q["sql"]
    ]


def track(name: str) -> Package:
    package, _ = services.package_track(name=name)
    return package


def test_first_refresh_stores_exactly_what_upstream_served(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    package = track("Django")
    result = services.refresh_package(package_id=package.pk, client=client_for(demo))
    assert result.status == "ok", result.error
    assert result.calls == 5
    package.refresh_from_db()
    expected = served(demo, "django")
    assert stored(package) == expected
    assert result.inserted == len(expected) and result.updated == 0
    assert package.upstream_state == UpstreamState.OK
    assert package.latest_date == GOLDEN_TODAY - dt.timedelta(days=1)
    assert package.first_date == GOLDEN_TODAY - dt.timedelta(days=181)
    assert package.data_version == 1
    assert package.last_refreshed_at is not None and package.next_attempt_at is None
    recent = httpx.get(f"{demo.url}/packages/django/recent").json()["data"]
    row = RecentDownloads.objects.get(package=package)
    assert (row.last_day, row.last_week, row.last_month) == (
        recent["last_day"],
        recent["last_week"],
        recent["last_month"],
    )
    run = RefreshRun.objects.get(package=package)
    assert (run.status, run.calls, run.inserted, run.updated) == ("ok", 5, len(expected), 0)
    assert run.finished_at is not None


def test_a_second_refresh_writes_nothing(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    package = track("flask")
    client = client_for(demo)
    services.refresh_package(package_id=package.pk, client=client)
    before = stored(package)
    package.refresh_from_db()
    version = package.data_version
    with month_writes() as written, CaptureQueriesContext(connection) as queries:
        second = services.refresh_package(package_id=package.pk, client=client)
    # What reached the database: not one month row, not the recent row.
    assert written() == []
    assert writes_to(queries, "packages_app_downloadmonth") == []
    assert writes_to(queries, "packages_app_recentdownloads") == []
    assert (second.inserted, second.updated) == (0, 0)
    assert second.unchanged == len(before)
    package.refresh_from_db()
    assert package.data_version == version
    assert stored(package) == before


def test_after_advancing_today_one_day_is_added_the_correction_overwrites_and_old_days_stay(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    package = track("requests")
    client = client_for(demo)
    services.refresh_package(package_id=package.pk, client=client)
    before = stored(package)
    oldest = (GOLDEN_TODAY - dt.timedelta(days=181)).isoformat()
    demo.advance()
    with month_writes() as written:
        result = services.refresh_package(package_id=package.pk, client=client)
    after = stored(package)
    new_day = GOLDEN_TODAY.isoformat()
    served_now = served(demo, "requests")
    corrected = (GOLDEN_TODAY + dt.timedelta(days=1) - dt.timedelta(days=3)).isoformat()
    # The database wrote exactly the months holding the new day or the correction, once
    # each: not the other months it already held unchanged.
    changed_months = {
        (category_id(m, c), month_of(dt.date.fromisoformat(d)))
        for m, c, d, _ in served_now
        if d == new_day or (m, c, d) == ("overall", "with_mirrors", corrected)
    }
    assert {(cat, month) for _, pk, cat, month in written() if pk == package.pk} == changed_months
    assert len(written()) == len(changed_months)
    # Every series got the new day.
    series_before = {(m, c) for m, c, _, _ in before}
    assert {(m, c) for m, c, d, _ in after if d == new_day} == {
        (m, c) for m, c, d, _ in served_now if d == new_day
    }
    assert {(m, c) for m, c, d, _ in served_now if d == new_day} <= series_before | {
        (m, c) for m, c, _, _ in served_now
    }
    # The day that fell out of upstream's window stays.
    assert not any(d == oldest for _, _, d, _ in served_now)
    assert {r for r in before if r[2] == oldest} <= after
    # The corrected value was overwritten.
    old_value = next(
        n for m, c, d, n in before if (m, c, d) == ("overall", "with_mirrors", corrected)
    )
    assert ("overall", "with_mirrors", corrected, old_value + CORRECTION_DELTA) in after
    assert result.updated == 1
    assert result.inserted == len([r for r in served_now if r[2] == new_day])
    assert after == before - {("overall", "with_mirrors", corrected, old_value)} | served_now
    package.refresh_from_db()
    assert package.data_version == 2
    assert package.latest_date == GOLDEN_TODAY
    assert package.first_date == GOLDEN_TODAY - dt.timedelta(days=181)


def test_golden_refresh_and_recent_equal_upstreams(
    golden_demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    client = client_for(golden_demo)
    expected_recent = {
        "demo-pkg": (100, 160, 167),
        "zope-interface": (2, 2, 2),
        "__all__": (900000,) * 3,
    }
    for name, values in expected_recent.items():
        package = track(name)
        assert services.refresh_package(package_id=package.pk, client=client).status == "ok"
        assert stored(package) == served(golden_demo, name)
        row = RecentDownloads.objects.get(package=package)
        assert (row.last_day, row.last_week, row.last_month) == values
    # The D-200 row upstream still returns is kept, and "history since" says so.
    demo_pkg = Package.objects.get(name="demo-pkg")
    assert demo_pkg.first_date == GOLDEN_TODAY - dt.timedelta(days=200)
    # /recent 404s for a package with only with_mirrors rows: no recent row upstream.
    old_only = track("old-only")
    assert services.refresh_package(package_id=old_only.pk, client=client).status == "ok"
    assert stored(old_only) == {
        ("overall", "with_mirrors", (GOLDEN_TODAY - dt.timedelta(days=3)).isoformat(), 4)
    }
    row = RecentDownloads.objects.get(package=old_only)
    assert (row.last_day, row.last_week, row.last_month) == (None, None, None)


def test_not_on_pypi_stats_is_a_state_retried_much_later(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    package = track("nosuchpkg")
    result = services.refresh_package(package_id=package.pk, client=client_for(demo))
    assert result.status == "not_found" and result.calls == 1
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.NOT_FOUND
    assert package.consecutive_failures == 0
    assert package.next_attempt_at is not None
    assert package.next_attempt_at - timezone.now() > dt.timedelta(days=6)
    assert not held(package)
    assert RefreshRun.objects.get(package=package).status == "not_found"


FAULTS: dict[str, FaultOptions] = {
    "429": {"status": 429},
    "500": {"status": 500},
    "503 on the last series only": {"status": 503, "endpoints": ["system"]},
    "timeout": {"delay": 1.5},
    "malformed JSON": {"malformed": True},
    "malformed recent": {"malformed": True, "endpoints": ["recent"]},
    "truncated body": {"truncate": True},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_a_fault_leaves_stored_data_identical_and_records_the_failure(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    settings: Settings,
    fault: FaultOptions,
) -> None:
    settings.UPSTREAM_READ_TIMEOUT = 0.5
    settings.UPSTREAM_MAX_TRIES = 2
    package = track("numpy")
    client = client_for(demo)
    services.refresh_package(package_id=package.pk, client=client)
    package.refresh_from_db()
    before, version, latest = stored(package), package.data_version, package.latest_date
    recent_before = RecentDownloads.objects.values().get(package=package)
    demo.advance()  # there is new data, so a partial write would show
    demo.set_faults(**fault)
    failing_client = client_for(demo)
    result = services.refresh_package(package_id=package.pk, client=failing_client)
    assert result.status == "failed"
    assert result.exception is not None
    package.refresh_from_db()
    assert stored(package) == before
    assert RecentDownloads.objects.values().get(package=package) == recent_before
    assert (package.data_version, package.latest_date) == (version, latest)
    assert package.last_error and package.last_error_at is not None
    assert package.next_attempt_at is not None and package.next_attempt_at > timezone.now()
    run = RefreshRun.objects.filter(package=package).first()
    assert run is not None and run.status == "failed" and run.error == package.last_error
    if fault.get("status") == 429:
        # Upstream's throttle is not this package's fault: state unchanged.
        assert package.upstream_state == UpstreamState.OK
        assert package.consecutive_failures == 0
    else:
        assert package.upstream_state == UpstreamState.FAILING
        assert package.consecutive_failures == 1
    # Once the fault is gone, the next refresh catches up.
    demo.clear_faults()
    assert services.refresh_package(package_id=package.pk, client=client_for(demo)).status == "ok"
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.OK and package.consecutive_failures == 0
    assert package.latest_date == GOLDEN_TODAY


def test_failures_back_off_exponentially(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient], settings: Settings
) -> None:
    settings.UPSTREAM_MAX_TRIES = 1
    package = track("httpx")
    demo.set_faults(status=500)
    gaps = []
    for _ in range(3):
        services.refresh_package(package_id=package.pk, client=client_for(demo))
        package.refresh_from_db()
        assert package.next_attempt_at is not None and package.last_error_at is not None
        gaps.append((package.next_attempt_at - package.last_error_at).total_seconds())
    assert package.consecutive_failures == 3
    base = settings.REFRESH_FAILURE_BACKOFF_BASE
    assert gaps == [base, 2 * base, 4 * base]


def test_a_zero_replacing_a_real_value_is_kept_as_ours_and_logged(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = track("attrs")
    client = client_for(demo)
    services.refresh_package(package_id=package.pk, client=client)
    before = stored(package)
    outage = GOLDEN_TODAY - dt.timedelta(days=4)
    original = demo.series

    def zero_day(name: str, endpoint: str) -> list[Row]:
        return [(c, d, 0 if d == outage else n) for c, d, n in original(name, endpoint)]

    monkeypatch.setattr(demo, "series", zero_day)
    result = services.refresh_package(package_id=package.pk, client=client)
    assert result.status == "ok"
    assert result.kept_zeros > 0 and result.updated == 0
    assert stored(package) == before
    assert "kept ours" in caplog.text


def test_category_rows_are_created_once(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    for name in ("six", "idna"):
        services.refresh_package(package_id=track(name).pk, client=client_for(demo))
    names = list(Category.objects.values_list("metric", "name"))
    assert len(names) == len(set(names))
    assert (Metric.OVERALL.value, "with_mirrors") in names


def test_a_404_for_a_package_we_hold_keeps_its_data_and_sets_not_found(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    package = track("certifi")
    services.refresh_package(package_id=package.pk, client=client_for(demo))
    package.refresh_from_db()
    before, version = stored(package), package.data_version
    demo.set_faults(status=404)
    result = services.refresh_package(package_id=package.pk, client=client_for(demo))
    assert result.status == "not_found"
    package.refresh_from_db()
    assert stored(package) == before and package.data_version == version
    assert package.upstream_state == UpstreamState.NOT_FOUND
    assert package.next_attempt_at is not None
    assert package.next_attempt_at - timezone.now() > dt.timedelta(days=6)


def _the_write_is_under_way(sql: str) -> bool:
    # The recent row is written after the new points, inside the same transaction.
    return "packages_app_recentdownloads" in sql


def test_a_time_limit_inside_the_write_rolls_back_and_is_recorded(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    package = track("flask")
    services.refresh_package(package_id=package.pk, client=client_for(demo))
    package.refresh_from_db()
    before, version = stored(package), package.data_version
    demo.advance()

    def out_of_time(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
    ) -> Any:
        # Celery's soft limit is a signal: it lands inside whatever statement is running,
        # here once the new points are already written in the transaction.
        if _the_write_is_under_way(sql):
            raise SoftTimeLimitExceeded()
        return execute(sql, params, many, context)

    with month_writes() as written, connection.execute_wrapper(out_of_time):
        result = services.refresh_package(package_id=package.pk, client=client_for(demo))
    assert result.status == "failed"
    assert written() == []  # the months it wrote were rolled back
    package.refresh_from_db()
    assert stored(package) == before and package.data_version == version
    assert package.last_error.startswith("SoftTimeLimitExceeded")
    assert package.upstream_state == UpstreamState.FAILING
    run = RefreshRun.objects.filter(package=package).first()
    assert run is not None and run.status == "failed" and run.finished_at is not None


@pytest.mark.django_db(transaction=True)  # the refresh's own transaction commits or rolls back
def test_a_database_failure_at_the_last_statement_of_the_write_leaves_everything_as_it_was(
    demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    """The database itself refuses the write's last statement (the run marked ok): every
    point, the recent row and the package's state written before it roll back with it."""
    package = track("numpy")
    services.refresh_package(package_id=package.pk, client=client_for(demo))
    package.refresh_from_db()
    before = stored(package)
    recent_before = RecentDownloads.objects.values().get(package=package)
    package_before = Package.objects.values().get(pk=package.pk)
    demo.advance()  # a new day for every series and a corrected one: much to write
    with failing_when("packages_app_refreshrun", "NEW.status = 'ok'"):
        result = services.refresh_package(package_id=package.pk, client=client_for(demo))
    assert result.status == "failed" and INJECTED in result.error
    assert stored(package) == before
    assert RecentDownloads.objects.values().get(package=package) == recent_before
    after = Package.objects.values().get(pk=package.pk)
    failure_fields = {
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "upstream_state",
        "next_attempt_at",
    }
    assert {k: v for k, v in after.items() if k not in failure_fields} == {
        k: v for k, v in package_before.items() if k not in failure_fields
    }
    assert INJECTED in after["last_error"] and after["upstream_state"] == UpstreamState.FAILING
    # The next refresh, with the database willing again, writes the new day.
    assert services.refresh_package(package_id=package.pk, client=client_for(demo)).status == "ok"
    assert served(demo, "numpy") <= stored(package)
    package.refresh_from_db()
    assert package.latest_date == GOLDEN_TODAY


def test_redis_down_under_the_budget_ends_the_run_failed_with_backoff(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    budget_factory: Callable[..., RequestBudget],
) -> None:
    """A real Redis outage: the budget points at a port where nothing listens, so reserving a
    slot raises redis.ConnectionError from inside refresh_package."""
    package = track("numpy")
    assert services.refresh_package(package_id=package.pk, client=client_for(demo)).status == "ok"
    package.refresh_from_db()
    before, version = stored(package), package.data_version
    recent_before = RecentDownloads.objects.values().get(package=package)
    demo.advance()  # there is new data, so a partial write would show

    dead = budget_factory([(1, 1.0)], redis_url=f"redis://127.0.0.1:{closed_port()}/5")
    result = services.refresh_package(package_id=package.pk, client=client_for(demo, budget=dead))

    assert result.status == "failed"
    assert isinstance(result.exception, redis.ConnectionError)
    assert result.error.startswith("ConnectionError")
    package.refresh_from_db()
    assert stored(package) == before
    assert RecentDownloads.objects.values().get(package=package) == recent_before
    assert package.data_version == version
    assert package.upstream_state == UpstreamState.FAILING
    assert package.consecutive_failures == 1
    assert package.last_error == result.error
    assert package.next_attempt_at is not None and package.next_attempt_at > timezone.now()
    run = RefreshRun.objects.filter(package=package).first()
    assert run is not None
    assert (run.status, run.error) == ("failed", result.error)
    assert run.finished_at is not None
    assert not RefreshRun.objects.filter(status=RefreshRun.Status.RUNNING).exists()


def closed_port() -> int:
    """A local port nothing listens on: bound, then closed again."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

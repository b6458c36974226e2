"""The ClickHouse client at its one seam: typed parameters, retries, quota, broken bodies."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.history import queries
from packages_app.history.client import (
    ClickHouseClient,
    ClickHouseDisabled,
    ClickHouseRateLimited,
    ClickHouseRefused,
    ClickHouseUnavailable,
    budget_prefix,
    default_budget,
    parse_rows,
)
from packages_app.sync.budget import FileStore, RequestBudget
from tests.packages_app.conftest import SleepRecorder
from tests.packages_app.demo.clickhouse_support import LATEST


def test_the_smallest_covering_view_is_chosen() -> None:
    assert queries.view_for(["date", "project"]) == "pypi_downloads_per_day"
    assert queries.view_for(["project", "date", "installer"]) == (
        "pypi_downloads_per_day_by_version_by_installer_by_type"
    )
    assert queries.view_for(["date", "project", "python_minor"]) == (
        "pypi_downloads_per_day_by_version_by_python"
    )
    assert queries.view_for(["date", "project", "installer", "country_code"]) == (
        "pypi_downloads_per_day_by_version_by_installer_by_type_by_country"
    )
    with pytest.raises(ValueError):
        queries.view_for(["date", "project", "python_minor", "installer"])


def test_every_series_query_sums_count_with_a_group_by_and_binds_the_name() -> None:
    for sql in (
        queries.OVERALL_SQL,
        queries.PYTHON_MAJOR_SQL,
        queries.PYTHON_MINOR_SQL,
        queries.SYSTEM_SQL,
    ):
        assert "sum(count)" in sql and "GROUP BY date" in sql
        assert "project = {p:String}" in sql
        assert "{since:Date}" in sql and "{through:Date}" in sql


def test_parse_rows_refuses_what_is_not_rows() -> None:
    assert parse_rows(b'["2024-01-01",3]\n["2024-01-02",4]\n') == [
        ["2024-01-01", 3],
        ["2024-01-02", 4],
    ]
    assert parse_rows(b"") == []
    for broken in (
        b'["2024-01-01",3]\n["2024-01-0',  # stops in a row
        b'["2024-01-01",3]\n__exception__\r\nabc\r\n',  # an exception block
        b'{"date": 1}\n',  # not a compact row
        b"not json\n",
    ):
        with pytest.raises(ClickHouseUnavailable):
            parse_rows(broken)


def test_an_empty_url_turns_the_source_off(settings: Settings) -> None:
    settings.CLICKHOUSE_URL = ""
    with pytest.raises(ClickHouseDisabled):
        ClickHouseClient()


def test_typed_parameters_carry_the_name_never_the_sql(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient]
) -> None:
    hostile = "x' OR 1=1 --"
    with ch_client() as client:
        assert queries.package_dates(client, hostile) is None
        assert queries.package_dates(client, "httpx") is not None
    assert all(hostile not in q.sql for q in ch.queries)


def test_5xx_is_retried_with_backoff(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient], sleeps: SleepRecorder
) -> None:
    ch.set_faults(status=503, times=1)
    with ch_client(max_tries=3) as client:
        dates = queries.package_dates(client, "httpx")
        assert dates is not None and dates.latest == LATEST
        assert client.calls == 2
    assert len(sleeps.delays) == 1


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"malformed": True}, {"truncate": True}, {"midstream": True}]
)
def test_faults_that_persist_raise_unavailable(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient], fault: dict[str, object]
) -> None:
    ch.set_faults(**fault)  # type: ignore[arg-type]
    with ch_client(max_tries=2) as client, pytest.raises(ClickHouseUnavailable):
        queries.package_series(client, "httpx", LATEST - dt.timedelta(days=60), LATEST)
    assert len(ch.queries) == 2


def test_a_timeout_is_unavailable(
    ch: DemoClickHouse, ch_settings: Settings, ch_client: Callable[..., ClickHouseClient]
) -> None:
    ch_settings.CLICKHOUSE_READ_TIMEOUT = 0.2
    ch.set_faults(delay=1.0, times=1)
    with ch_client(max_tries=1) as client, pytest.raises(ClickHouseUnavailable, match="timeout"):
        queries.package_dates(client, "httpx")


def test_a_quota_error_pauses_every_process_like_a_429(
    ch: DemoClickHouse,
    ch_settings: Settings,
    ch_client: Callable[..., ClickHouseClient],
    tmp_path: Path,
) -> None:
    ch_settings.CLICKHOUSE_PAUSE_AFTER_QUOTA = 120.0
    budget = RequestBudget(FileStore(tmp_path / "shared", "quota"), [])
    ch.set_faults(quota=True)
    # A task's client: it gives the worker back rather than wait out the pause.
    client = ch_client(budget=budget, max_wait=5.0)
    with client, pytest.raises(ClickHouseRateLimited) as raised:
        queries.package_dates(client, "httpx")
    assert raised.value.retry_after == pytest.approx(120.0)
    # Another process's client on the same budget is paused too, before sending anything.
    other = RequestBudget(FileStore(tmp_path / "shared", "quota"), [])
    assert other.paused_for() > 100
    ch.clear_faults()
    ch.clear_queries()
    with ch_client(budget=other, max_wait=5.0) as client, pytest.raises(ClickHouseRateLimited):
        queries.package_dates(client, "httpx")
    assert ch.queries == []


def test_wrong_credentials_are_refused_not_retried(
    ch: DemoClickHouse, ch_client: Callable[..., ClickHouseClient]
) -> None:
    with ch_client(password="wrong", max_tries=3) as client:
        with pytest.raises(ClickHouseRefused, match="516"):
            queries.package_dates(client, "httpx")
        assert client.calls == 1


def test_the_budget_is_shared_per_host(settings: Settings) -> None:
    settings.CLICKHOUSE_RATE_PER_SECOND = 2
    settings.CLICKHOUSE_RATE_PER_MINUTE = 60
    assert budget_prefix("https://clickpy-clickhouse.clickhouse.com") == (
        "clickhouse-budget:clickpy-clickhouse.clickhouse.com"
    )
    assert len(default_budget("http://127.0.0.1:1").rules) == 2

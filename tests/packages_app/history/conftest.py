"""Fixtures of the ClickHouse source's tests: the stand-in (once per session) and the app on it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.history.client import ClickHouseClient
from packages_app.sync.budget import FileStore, RequestBudget
from tests.packages_app.conftest import SleepRecorder
from tests.packages_app.demo.clickhouse_support import stand_in


@pytest.fixture(scope="session")
def clickhouse() -> Iterator[DemoClickHouse]:
    """One stand-in for the session: its data is built once (and cached under var/)."""
    with stand_in() as running:
        yield running


@pytest.fixture
def ch(clickhouse: DemoClickHouse) -> Iterator[DemoClickHouse]:
    """The stand-in with no fault and no lag, put back after the test."""
    clickhouse.clear_faults()
    clickhouse.clear_queries()
    yield clickhouse
    clickhouse.clear_faults()
    clickhouse.set_lag(0)


@pytest.fixture
def ch_settings(settings: Settings, ch: DemoClickHouse, tmp_path: Path) -> Settings:
    """Point the app (services, tasks, commands) at the stand-in, with no budget waits."""
    settings.CLICKHOUSE_URL = ch.url
    settings.CLICKHOUSE_USER = ch.user
    settings.CLICKHOUSE_PASSWORD = ch.password
    settings.CLICKHOUSE_DATABASE = "pypi"
    settings.CLICKHOUSE_RATE_PER_SECOND = 0
    settings.CLICKHOUSE_RATE_PER_MINUTE = 0
    settings.CLICKHOUSE_MAX_TRIES = 2
    settings.CLICKHOUSE_BACKOFF_BASE = 0.01
    settings.CLICKHOUSE_BACKOFF_CAP = 0.01
    return settings


@pytest.fixture
def ch_client(
    ch_settings: Settings, tmp_path: Path, sleeps: SleepRecorder
) -> Callable[..., ClickHouseClient]:
    """A client of the stand-in with a private, unlimited budget and no real sleeping."""

    def make(**kwargs: object) -> ClickHouseClient:
        kwargs.setdefault(
            "budget",
            RequestBudget(FileStore(tmp_path / "budget", f"t-{secrets.token_hex(4)}"), []),
        )
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("random", lambda: 0.5)
        return ClickHouseClient(**kwargs)  # type: ignore[arg-type]

    return make

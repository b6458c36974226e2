"""Fixtures of the ClickHouse source's tests: the stand-in (once per session), the app on it,
and packages that hold both sources, built once per module."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import services
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync import services as sync_services
from packages_app.sync.budget import FileStore, RequestBudget
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.conftest import SleepRecorder
from tests.packages_app.demo.clickhouse_support import stand_in
from tests.packages_app.golden import GOLDEN_TODAY


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


def both_sources(
    name: str, upstream_client: UpstreamClient, clickhouse_client: ClickHouseClient
) -> Package:
    """Track `name`, refresh it from the demo upstream (its 181 days), then backfill it from
    the stand-in (every day since its first download)."""
    package = sync_services.package_track(name=name)[0]
    sync_services.refresh_package(package_id=package.pk, client=upstream_client)
    services.package_backfill(package_id=package.pk, client=clickhouse_client)
    package.refresh_from_db()
    return package


def both_sources_from(
    name: str,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> Package:
    """both_sources with the function-scoped fixtures' clients (a test's own package)."""
    with client_for(demo) as upstream_client, ch_client() as clickhouse_client:
        return both_sources(name, upstream_client, clickhouse_client)


def both_sources_once(
    names: tuple[str, ...], clickhouse: DemoClickHouse, budget_dir: Path
) -> dict[str, Package]:
    """both_sources for each name, for data built once per module (tests/module_data.py):
    the clients the function-scoped `client_for` and `ch_client` make, without them (a
    demo upstream of its own, private unlimited budgets, no real sleeping, two tries)."""
    clickhouse.clear_faults()
    clickhouse.set_lag(0)

    def budget() -> RequestBudget:
        return RequestBudget(FileStore(budget_dir, f"t-{secrets.token_hex(4)}"), [])

    built = {}
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        for name in names:
            upstream_client = UpstreamClient(
                base_url=demo.url, budget=budget(), sleep=SleepRecorder(), random=lambda: 0.5
            )
            with (
                upstream_client,
                ClickHouseClient(
                    base_url=clickhouse.url,
                    user=clickhouse.user,
                    password=clickhouse.password,
                    database="pypi",
                    budget=budget(),
                    sleep=SleepRecorder(),
                    random=lambda: 0.5,
                    max_tries=2,
                ) as clickhouse_client,
            ):
                built[name] = both_sources(name, upstream_client, clickhouse_client)
    return built

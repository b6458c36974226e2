"""Fixtures for the upstream sync tests: a demo upstream on loopback and clients for it."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_django import Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.sync.budget import FileStore, RedisStore, RequestBudget, Rule
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.golden import GOLDEN_TODAY


class SleepRecorder:
    """Stands in for time.sleep in retry tests: records the delays, waits for none."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def demo() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as server:
        yield server


@pytest.fixture
def golden_demo() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=GOLDEN_TODAY, dataset="golden", rate_limit=False) as server:
        yield server


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def budget_factory(tmp_path: Path) -> Callable[..., RequestBudget]:
    """A budget in a private file store (or Redis with a private prefix), no limits by default."""

    def make(rules: list[Rule] | None = None, *, redis_url: str | None = None) -> RequestBudget:
        prefix = f"test-{secrets.token_hex(6)}"
        store = (
            RedisStore(redis_url, prefix) if redis_url else FileStore(tmp_path / "budget", prefix)
        )
        return RequestBudget(store, rules or [])

    return make


@pytest.fixture
def client_for(
    budget_factory: Callable[..., RequestBudget], sleeps: SleepRecorder
) -> Callable[..., UpstreamClient]:
    """An UpstreamClient for a demo upstream, with an unlimited private budget and no real sleeping."""

    def make(server: DemoUpstream, **kwargs: object) -> UpstreamClient:
        kwargs.setdefault("budget", budget_factory())
        kwargs.setdefault("sleep", sleeps)
        kwargs.setdefault("random", lambda: 0.5)
        return UpstreamClient(base_url=server.url, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(autouse=True)
def _fresh_category_cache() -> Iterator[None]:
    """Tests that truncate tables (transactional_db) must not see another test's category ids."""
    from packages_app.sync import services

    services._category_ids.clear()
    yield
    services._category_ids.clear()


@pytest.fixture
def upstream_settings(settings: Settings, demo: DemoUpstream) -> Settings:
    """Point the app (tasks, commands, admin) at the demo upstream, with no budget waits."""
    settings.PYPISTATS_API_URL = demo.url
    settings.UPSTREAM_RATE_PER_SECOND = 0
    settings.UPSTREAM_RATE_PER_MINUTE = 0
    settings.UPSTREAM_MAX_TRIES = 1
    return settings

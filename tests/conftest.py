from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from pytest_django import Settings

from tests.isolation import (
    clear_cache,
    own_celery_queue,
    own_mutant_session,
    worker_caches,
    worker_prefix,
)
from tests.live import chromium, one_request_at_a_time
from tests.module_data import users_last
from tests.services import CHECKS

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"

# The shared test world (alice, bob, charlie, their team and lists): tests/world.py.
pytest_plugins = ["tests.world"]


def pytest_sessionstart(session: pytest.Session) -> None:
    own_mutant_session()  # only under MUTATE_SERVICES=1 bin/mutate


@pytest.hookimpl(trylast=True)  # after pytest-django has put db tests before transactional ones
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests whose service is missing, with the reason; fail instead under REQUIRE_SERVICES=1.

    Also runs the tests that use data built once per module after the module's others
    (tests/module_data.py).
    """
    users_last(items)
    reasons: dict[str, str | None] = {}
    missing: set[str] = set()
    for item in items:
        for marker, check in CHECKS.items():
            if item.get_closest_marker(marker) is None:
                continue
            if marker not in reasons:
                reasons[marker] = check()
            reason = reasons[marker]
            if reason is None:
                continue
            if REQUIRE_SERVICES:
                missing.add(f"{marker}: {reason}")
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs {marker}: {reason}"))
    if missing:
        raise pytest.UsageError(
            "REQUIRE_SERVICES=1 but these services are missing:\n  " + "\n  ".join(sorted(missing))
        )


@pytest.fixture(scope="session", autouse=True)
def _test_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Settings for the whole run: in force before any fixture, also for the data that
    module-scoped fixtures build (tests/module_data.py). A test changes them through
    pytest-django's `settings` fixture, which puts them back after it."""
    with (
        override_settings(
            PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
            AXES_ENABLED=False,  # the lockout tests turn it back on
            HTTPS=False,
            SECURE_SSL_REDIRECT=False,
            DEMO_UPSTREAM=False,
            # The ClickHouse source is off unless a test points it at the local stand-in:
            # whatever a developer's shell exports, no test reaches ClickPy.
            CLICKHOUSE_URL="",
            # Pages render {% static %}: never read a collectstatic manifest a developer may
            # have left under var/, whatever the app under test.
            STORAGES={
                **django_settings.STORAGES,
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
            # Building the middleware (each test client, each WSGIHandler) makes WhiteNoise list
            # and stat every static file through the finders: ~80 ms, paid by most tests. No
            # test but the static-file ones asks for /static/ through Django; they turn it on.
            WHITENOISE_USE_FINDERS=False,
            # This process's own cache (a folder, or a key prefix on Redis): tests/isolation.py.
            CACHES=worker_caches(django_settings.CACHES, tmp_path_factory.mktemp("cache")),
            # The API's shared store keys its answers and rate-limit counters under this one.
            CACHE_KEY_PREFIX=worker_prefix(django_settings.CACHE_KEY_PREFIX),
        ),
        own_celery_queue(tmp_path_factory.mktemp("celery")),
    ):
        yield


@pytest.fixture(scope="session")
def live_server(request: pytest.FixtureRequest, django_db_setup: None) -> Iterator[Any]:
    """pytest-django's session-wide live server, answering one request at a time (why:
    tests/live.py).

    It asks for django_db_setup so that it stops before the test database is dropped: its
    thread keeps a connection open between requests (CONN_MAX_AGE), and dropping the
    database under it failed with "being accessed by other users"."""
    from pytest_django.live_server_helper import LiveServer

    address = (
        request.config.getvalue("liveserver")
        or os.environ.get("DJANGO_LIVE_TEST_SERVER_ADDRESS")
        or "localhost"
    )
    server = one_request_at_a_time(LiveServer(address, start=False))
    server.start()
    yield server
    server.stop()


_VAR_DIRS = itertools.count()


@pytest.fixture(autouse=True)
def _isolated(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # The request budget's file store lives under VAR_DIR: one per test, so that no pause
    # or request log outlives its test or reaches a parallel worker. A fresh path under this
    # process's own temporary folder, made by whatever writes there (the file store makes its
    # folder): not `tmp_path`, which creates a folder for every test and finds its number by
    # listing all the earlier ones (quadratic over a run of ~900 tests per worker).
    settings.VAR_DIR = tmp_path_factory.getbasetemp() / "var" / str(next(_VAR_DIRS))
    with contextlib.suppress(Exception):  # a test may point the cache at a dead server
        clear_cache()
    yield


_ENVIRON_BEFORE = pytest.StashKey[dict[str, str]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_ENVIRON_BEFORE] = dict(os.environ)
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """No process-wide setting outlives its test: once every fixture of the test is torn
    down, os.environ is as it was before its setup (monkeypatch.setenv puts values back)."""
    result = yield
    before = item.stash.get(_ENVIRON_BEFORE, None)
    if before is not None:
        leaked = {
            key: os.environ.get(key)
            for key in before.keys() | os.environ.keys()
            if key != "PYTEST_CURRENT_TEST" and os.environ.get(key) != before.get(key)
        }
        assert not leaked, f"the test left the environment changed: {leaked}"
    return result


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, the test keeping its own database
    connections (tests/live.py); any folder's browser tests use it."""
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still plain synchronous ones, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as browser:
        yield browser


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run enqueued tasks in-process, their exceptions raised (the real-worker tests:
    tests/packages_app/sync/test_worker.py)."""
    from pypistats_site.celery import app

    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous

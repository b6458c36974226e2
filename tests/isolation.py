"""What keeps tests apart when pytest-xdist runs them in parallel worker processes.

Each worker has its own test database (pytest-django appends the worker's name, e.g.
test_x_gw0) and, through worker_caches(), its own cache: a file cache in its own
temporary folder, or on Redis its own key prefix in the database all workers share.
Django's RedisCache.clear() is FLUSHDB, which would also empty the other workers' cache
keys, their request budgets and any Celery queue on that database: tests empty the
cache with clear_cache(), which deletes this worker's keys only.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache

# "gw0", "gw1", ... under xdist; empty in a plain, single-process run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def own_mutant_session() -> None:
    """Under `MUTATE_SERVICES=1 bin/mutate` (docs/testing.md): a pytest session of its own.

    mutmut runs each mutant's tests as a new pytest session in a process forked from one
    parent, several at once, all with the same DATABASE_URL and REDIS_URL: each process
    takes its own test database name and cache/queue prefix, by its process id, as xdist's
    workers take theirs by worker name. A no-op in every other run.
    """
    global WORKER
    if os.environ.get("MUTATE_SERVICES") != "1":
        return
    from django.db import connections

    WORKER = f"mutate{os.getpid()}"
    for connection in connections.all(initialized_only=False):
        if connection.vendor != "sqlite":  # SQLite's test database is in memory already
            name = connection.settings_dict["NAME"]
            connection.settings_dict["TEST"]["NAME"] = f"test_{name}_{WORKER}"


def worker_prefix(prefix: str) -> str:
    """This run's own key prefix: the API's shared store (CACHE_KEY_PREFIX) and every
    cache alias (KEY_PREFIX) use it, so one clear_cache() empties both."""
    return f"{prefix or 'pss'}-test-{WORKER or 'main'}"


def worker_caches(caches: dict[str, Any], folder: Path) -> dict[str, Any]:
    """CACHES with every file cache moved to `folder` and every key prefix made this run's own.

    The file cache otherwise lives in var/cache, shared by the workers (and by a
    developer's own `make run`); the prefix keeps Redis keys apart.
    """
    own: dict[str, Any] = {}
    for alias, config in caches.items():
        config = dict(config)
        config["KEY_PREFIX"] = worker_prefix(config.get("KEY_PREFIX") or "")
        if config["BACKEND"].endswith("FileBasedCache"):
            config["LOCATION"] = str(folder / alias)
        own[alias] = config
    return own


def clear_cache() -> None:
    """Empty the default cache as this worker sees it, leaving other workers' keys alone."""
    config = settings.CACHES["default"]
    if config["BACKEND"] != REDIS_CACHE:
        cache.clear()  # a folder or a memory of this worker's own
        return
    locations = config["LOCATION"]
    for url in [locations] if isinstance(locations, str) else locations:
        delete_prefixed(url, config.get("KEY_PREFIX") or "")


def delete_prefixed(url: str, prefix: str) -> None:
    """Delete the keys Django's cache made with KEY_PREFIX `prefix` in the Redis at `url`
    (e.g. those of a server a test started in another process)."""
    client = _redis(url)
    # Django's keys are "<prefix>:<version>:<key>"; glob characters in the prefix are
    # escaped so that it matches only itself.
    pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + ":*"
    keys = list(client.scan_iter(match=pattern, count=1000))
    if keys:
        client.unlink(*keys)


@functools.cache
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


@contextlib.contextmanager
def own_celery_queue(folder: Path) -> Iterator[str]:
    """Send whatever this test process enqueues to a queue of its own, never the `celery`
    queue a `make run` worker on the same broker consumes; the file-system broker (no
    REDIS_URL) keeps its files in `folder`, not in the developer's var/celery. Tests that
    start real workers give them their own queue (tests/packages_app/sync/test_worker.py).
    """
    from pypistats_site.celery import app

    queue = f"pss-test-{WORKER or 'main'}-{secrets.token_hex(4)}"
    saved = app.conf.task_default_queue, app.conf.broker_transport_options
    app.conf.task_default_queue = queue
    if app.conf.broker_url.startswith("filesystem"):
        app.conf.broker_transport_options = {
            **app.conf.broker_transport_options,
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "control_folder": str(folder / "control"),
        }
        for sub in ("queue", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    try:
        yield queue
    finally:
        app.conf.task_default_queue, app.conf.broker_transport_options = saved
        if app.conf.broker_url.startswith("redis"):
            with contextlib.suppress(Exception):  # Redis may be gone by now
                _redis(app.conf.broker_url).delete(
                    queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}"
                )

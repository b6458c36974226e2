"""`make test` beside a running `make run`: the tests never empty or feed that stack's
cache, its Redis database or its Celery queue (tests/isolation.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from packages_app.sync import tasks
from pypistats_site.celery import app
from tests.isolation import clear_cache

ROOT = Path(__file__).resolve().parents[2]


def test_the_tests_cache_is_not_the_developers() -> None:
    config = settings.CACHES["default"]
    assert config["KEY_PREFIX"] != "pss"  # `make run`'s prefix (CACHE_KEY_PREFIX)
    if config["BACKEND"].endswith("FileBasedCache"):
        assert not Path(config["LOCATION"]).is_relative_to(ROOT / "var")


def test_what_a_test_enqueues_never_reaches_the_stacks_queue() -> None:
    assert app.conf.task_default_queue.startswith("pss-test-")
    if app.conf.broker_url.startswith("filesystem"):
        folder = Path(app.conf.broker_transport_options["data_folder_in"])
        assert not folder.is_relative_to(ROOT / "var")


@pytest.mark.redis
def test_clearing_the_cache_and_enqueueing_leave_a_running_stacks_keys_and_queue_alone() -> None:
    """A `make run` on the same Redis database: its cache key and a waiting task survive
    what tests do to their own cache and queue."""
    url = os.environ["REDIS_URL"]
    stack = redis.Redis.from_url(url)
    stack_key = "pss:1:stack-own-key"  # `make run`'s cache: prefix "pss", version 1
    stack.set(stack_key, b"kept")
    try:
        cache.set("ours", 1)
        clear_cache()
        assert cache.get("ours") is None
        ours = app.conf.task_default_queue
        waiting = stack.llen(ours)
        tasks.worker_heartbeat.delay()  # a test that enqueues without a worker
        assert stack.get(stack_key) == b"kept"
        # The message went to the tests' own queue (so not to the stack's `celery`).
        assert stack.llen(ours) == waiting + 1
        assert ours != "celery"
    finally:
        stack.delete(stack_key)

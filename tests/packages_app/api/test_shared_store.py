"""Where the API keeps counters and answers: its own Redis client, or Django's cache API."""

from __future__ import annotations

import os

import pytest
from django.core.cache import caches
from pytest_django import Settings

from packages_app.api import cache as api_cache
from packages_app.api import shared_store

IDENTITY = "1:demo-pkg:7:overall:"
DEAD_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every call fails at once
# Its own LOCATION: a LocMemCache lives in a module-level dict for the whole process, so a
# second pytest session in the same process (mutmut's runs) would otherwise see its counts.
LOCMEM = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "test-shared-store",
    }
}


@pytest.mark.redis
def test_answers_on_redis_carry_the_prefix_and_the_cache_timeout(settings: Settings) -> None:
    import redis

    settings.REDIS_URL = os.environ["REDIS_URL"]
    settings.CACHE_KEY_PREFIX = "pss-put-test"
    settings.API_CACHE_TIMEOUT = 1234
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    api_cache.put(IDENTITY, 200, b'{"x":1}\n')
    ours = "pss-put-test:" + api_cache._key(IDENTITY)
    assert r.keys("pss-put-test:*") == [ours.encode()]
    assert 1200 < r.ttl(ours) <= 1234
    assert api_cache.get(IDENTITY) == (200, b'{"x":1}\n')
    api_cache.put(IDENTITY, 404, b"404 NOT FOUND")
    assert api_cache.get(IDENTITY) == (404, b"404 NOT FOUND")
    settings.API_CACHE_TIMEOUT = 0  # as Django's cache.set(..., 0): nothing kept
    api_cache.put(IDENTITY, 200, b"new")
    assert r.get(ours) is None


@pytest.mark.redis
def test_count_and_get_on_redis_is_one_pipeline(settings: Settings) -> None:
    import redis

    settings.REDIS_URL = os.environ["REDIS_URL"]
    settings.CACHE_KEY_PREFIX = "pss-count-test"
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    shared_store.put("answer", (200, b"body"), 60)
    assert shared_store.count_and_get("counter", 65, "answer") == (1, (200, b"body"))
    assert shared_store.count_and_get("counter", 65, "missing") == (2, None)
    assert shared_store.count("counter", 65) == 3
    assert 0 < r.ttl("pss-count-test:counter") <= 65
    r.delete("pss-count-test:counter", "pss-count-test:answer")


def test_one_redis_client_per_process(settings: Settings) -> None:
    settings.REDIS_URL = DEAD_URL  # building a client connects to nothing
    first = shared_store._store()
    assert isinstance(first, shared_store.RedisStore)
    assert shared_store._store() is first
    settings.CACHE_KEY_PREFIX = "another-site"
    assert shared_store._store() is not first


def test_without_redis_the_django_cache_holds_counters_and_answers(settings: Settings) -> None:
    settings.REDIS_URL = ""
    settings.CACHES = LOCMEM
    caches["default"].clear()
    assert [shared_store.count("counter", 65) for _ in range(3)] == [1, 2, 3]
    api_cache.put(IDENTITY, 200, b"body")
    # Through Django's public API, under Django's own key prefixing.
    assert caches["default"].get(api_cache._key(IDENTITY)) == (200, b"body")
    assert shared_store.count_and_get("counter", 65, api_cache._key(IDENTITY)) == (
        4,
        (200, b"body"),
    )


@pytest.mark.parametrize("redis_url", [DEAD_URL, ""])
def test_a_store_that_is_down_fails_open(settings: Settings, redis_url: str) -> None:
    settings.REDIS_URL = redis_url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": DEAD_URL,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    assert shared_store.count("counter", 65) is None
    assert shared_store.get("answer") is None
    assert shared_store.count_and_get("counter", 65, "answer") == (None, None)
    shared_store.put("answer", (200, b"body"), 60)  # logged, not raised

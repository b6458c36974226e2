"""The fail-open cache the pages use: an unreachable cache is a logged miss, never an error."""

from __future__ import annotations

import logging

import pytest
from pytest_django import Settings

from packages_app import soft_cache

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def test_a_reachable_cache_stores_and_returns(settings: Settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    soft_cache.set("k", {"v": 1}, 60)
    soft_cache.set_many({"a": 1, "b": 2}, 60)
    assert soft_cache.get("k") == {"v": 1}
    assert soft_cache.get_many(["a", "b", "missing"]) == {"a": 1, "b": 2}


def test_a_cache_that_is_down_is_a_logged_miss(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = DEAD_REDIS
    with caplog.at_level(logging.WARNING, logger="packages_app.soft_cache"):
        soft_cache.set("k", 1, 60)
        soft_cache.set_many({"a": 1}, 60)
        assert soft_cache.get("k") is None
        assert soft_cache.get_many(["a"]) == {}
    assert [r.getMessage().split(" failed")[0] for r in caplog.records] == [
        "cache set k",
        "cache set_many (1 keys)",
        "cache get k",
        "cache get_many (1 keys)",
    ]

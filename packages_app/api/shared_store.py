"""Where the API and the page cache keep what every process shares: rate-limit counters,
cached answers and pages (packages_app/page_cache.py).

With REDIS_URL set: one redis-py client per process (`redis.Redis.from_url`, thread-safe, with
its own connection pool and the cache's short socket timeouts), keys under CACHE_KEY_PREFIX so
that several sites can share a Redis. A warm answer is then one round trip: INCR + EXPIRE NX
(the client's window) and GET (the answer) in one pipeline. Django's RedisCache is not used
for this: it offers no documented way to reach its client or to pipeline, and it builds a new
redis.Redis (registering ~170 response callbacks) on every call.

Without REDIS_URL (a zero-configuration install): Django's cache API on API_CACHE_ALIAS (the
file cache), one call each; add() then incr() counts, atomically enough within one machine.

A store that is down, or any error of it, is never the caller's error: a count is None (the
request is not limited) and an answer is a miss (read from the database instead).
"""

from __future__ import annotations

import functools
import logging
from typing import Protocol

import redis
from django.conf import settings
from django.core.cache import caches
from redis.client import Pipeline

log = logging.getLogger(__name__)

Answer = tuple[int, bytes]  # (HTTP status, body)


class _Store(Protocol):
    def count(self, key: str, ttl: int) -> int: ...

    def get(self, key: str) -> Answer | None: ...

    def put(self, key: str, answer: Answer, timeout: int) -> None: ...

    def get_many(self, keys: list[str]) -> list[Answer | None]: ...


class RedisStore:
    """Counters as Redis integers; answers as the status's three digits, then the body."""

    def __init__(self, url: str, prefix: str) -> None:
        self.client = redis.Redis.from_url(url, **settings.REDIS_SOCKET_TIMEOUTS)
        self.prefix = prefix

    def _full(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _counting(self, key: str, ttl: int) -> Pipeline:
        """A pipeline (one round trip, no MULTI) that adds one to the counter `key`."""
        # INCR creates the key at 1; EXPIRE NX gives only a new key its lifetime.
        full = self._full(key)
        pipe = self.client.pipeline(transaction=False)
        pipe.incr(full)
        pipe.expire(full, ttl, nx=True)
        return pipe

    def count(self, key: str, ttl: int) -> int:
        count, _ = self._counting(key, ttl).execute()
        return int(count)

    def get(self, key: str) -> Answer | None:
        return _decode(self.client.get(self._full(key)))

    def get_many(self, keys: list[str]) -> list[Answer | None]:
        return [_decode(raw) for raw in self.client.mget([self._full(k) for k in keys])]

    def count_and_get(
        self, counter_key: str, ttl: int, answer_key: str
    ) -> tuple[int, Answer | None]:
        pipe = self._counting(counter_key, ttl)
        pipe.get(self._full(answer_key))
        count, _, raw = pipe.execute()
        return int(count), _decode(raw)

    def put(self, key: str, answer: Answer, timeout: int) -> None:
        status, body = answer
        if timeout <= 0:  # as Django's cache.set(..., 0): keep nothing
            self.client.delete(self._full(key))
        else:
            self.client.set(self._full(key), b"%03d" % status + body, ex=timeout)


def _decode(raw: object) -> Answer | None:
    if not isinstance(raw, bytes) or len(raw) < 3 or not raw[:3].isdigit():
        return None
    return int(raw[:3]), raw[3:]


class CacheStore:
    """Django's cache API on one alias (it adds its own KEY_PREFIX and serialises values)."""

    def __init__(self, alias: str) -> None:
        self.alias = alias

    def count(self, key: str, ttl: int) -> int:
        cache = caches[self.alias]
        if cache.add(key, 1, ttl):
            return 1
        return int(cache.incr(key))

    def get(self, key: str) -> Answer | None:
        value = caches[self.alias].get(key)
        if isinstance(value, tuple) and len(value) == 2:
            return value
        return None

    def put(self, key: str, answer: Answer, timeout: int) -> None:
        caches[self.alias].set(key, answer, timeout)

    def get_many(self, keys: list[str]) -> list[Answer | None]:
        return [self.get(key) for key in keys]


@functools.cache
def _redis_store(url: str, prefix: str) -> RedisStore:
    return RedisStore(url, prefix)


def _store() -> _Store:
    # Looked up on each call (a dict lookup and a cached function) so that the settings decide,
    # including in tests that change them; one RedisStore per (URL, prefix) per process.
    if settings.REDIS_URL:
        return _redis_store(settings.REDIS_URL, settings.CACHE_KEY_PREFIX)
    return CacheStore(settings.API_CACHE_ALIAS)


def count(key: str, ttl: int) -> int | None:
    """Add one to the counter `key` (created with `ttl` seconds to live); None if the store
    cannot say."""
    try:
        return _store().count(key, ttl)
    except Exception as exc:  # down, or (Django's cache) the key expired between add and incr
        log.debug("rate limit not counted: %s", exc)
        return None


def get(key: str) -> Answer | None:
    try:
        return _store().get(key)
    except Exception as exc:
        log.warning("API cache read failed: %s", exc)
        return None


def get_many(keys: list[str]) -> list[Answer | None]:
    """Several answers in one round trip (Redis MGET); a failure is a miss for each."""
    try:
        return _store().get_many(keys)
    except Exception as exc:
        log.warning("cache read failed: %s", exc)
        return [None] * len(keys)


def count_and_get(counter_key: str, ttl: int, answer_key: str) -> tuple[int | None, Answer | None]:
    """count() and get() together: one round trip on Redis, and one failure for both there."""
    store = _store()
    if isinstance(store, RedisStore):
        try:
            return store.count_and_get(counter_key, ttl, answer_key)
        except Exception as exc:
            log.warning("API cache read failed: %s", exc)
            return None, None
    return count(counter_key, ttl), get(answer_key)


def put(key: str, answer: Answer, timeout: int) -> None:
    try:
        _store().put(key, answer, timeout)
    except Exception as exc:
        log.warning("API cache write failed: %s", exc)

"""Pre-serialised API answers in the cache, keyed by the package's data_version.

A committed refresh bumps Package.data_version, so every key an older answer was
stored under is simply never asked for again (it expires on its own): there is
nothing to invalidate and no window in which a reader can get a stale answer
under a new version. The same identity gives the ETag. A cache that is down, or
any cache exception, means a database read instead: slower, never an error.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.core.cache import caches

from . import ratelimit

log = logging.getLogger(__name__)

# Bump when the answer format or the window rule changes: old keys and ETags die.
FORMAT_VERSION = 1


def answer_id(name: str, data_version: int, endpoint: str, params: str) -> str:
    """One answer's identity: package, its data version, endpoint, normalised params."""
    return f"{FORMAT_VERSION}:{name}:{data_version}:{endpoint}:{params}"


def etag(identity: str) -> str:
    return '"' + hashlib.blake2b(identity.encode(), digest_size=12).hexdigest() + '"'


def _key(identity: str) -> str:
    # Names and params are validated ASCII, but keep keys short and safe for
    # every backend (memcached-style key rules) whatever they hold.
    return "api:" + hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()


def get(identity: str) -> tuple[int, bytes] | None:
    try:
        value = caches[settings.API_CACHE_ALIAS].get(_key(identity))
    except Exception as exc:
        log.warning("API cache read failed: %s", exc)
        return None
    if isinstance(value, tuple) and len(value) == 2:
        return value
    return None


def get_counting(
    identity: str | None, counter: ratelimit.Counter | None
) -> tuple[tuple[int, bytes] | None, ratelimit.Verdict | None]:
    """The cached answer (if `identity`) and the rate-limit count, in one round trip on Redis.

    The hot path of the API: one pipeline of INCR + EXPIRE NX (the client's window) and GET
    (the answer). Other backends, or any failure, fall back to one call each.
    """
    cache = caches[settings.API_CACHE_ALIAS]
    if counter is not None and identity is not None:
        try:
            client = ratelimit.redis_client(cache, counter.key)
        except Exception:
            client = None
        if client is not None:
            try:
                counter_key = cache.make_and_validate_key(counter.key)
                answer_key = cache.make_and_validate_key(_key(identity))
                pipe = client.pipeline(transaction=False)
                pipe.incr(counter_key)
                pipe.expire(counter_key, counter.ttl, nx=True)
                pipe.get(answer_key)
                count, _, raw = pipe.execute()
                # Django's RedisCache serialiser: what cache.get() would have unpickled.
                serializer = cache._cache._serializer  # type: ignore[attr-defined]
                value = serializer.loads(raw) if raw is not None else None
                cached = value if isinstance(value, tuple) and len(value) == 2 else None
                return cached, counter.verdict(int(count))
            except Exception as exc:
                log.warning("API cache read failed: %s", exc)
                return None, counter.verdict(None)
    verdict = ratelimit.check_counter(counter) if counter is not None else None
    return (get(identity) if identity is not None else None), verdict


def put(identity: str, status: int, body: bytes) -> None:
    """Store an answer: what cache.set() does, through the one kept redis-py client on Redis
    (Django's RedisCache.set builds a new redis.Redis on every call)."""
    cache = caches[settings.API_CACHE_ALIAS]
    key = _key(identity)
    try:
        client = ratelimit.redis_client(cache, key)
        if client is None:
            cache.set(key, (status, body), settings.API_CACHE_TIMEOUT)
            return
        # RedisCache.set -> RedisCacheClient.set, step for step.
        timeout = cache.get_backend_timeout(settings.API_CACHE_TIMEOUT)
        full_key = cache.make_and_validate_key(key)
        value = cache._cache._serializer.dumps((status, body))  # type: ignore[attr-defined]
        if timeout == 0:
            client.delete(full_key)
        else:
            client.set(full_key, value, ex=timeout)
    except Exception as exc:
        log.warning("API cache write failed: %s", exc)

"""Pre-serialised API answers in the cache, keyed by the package's data_version.

A committed refresh bumps Package.data_version, so every key an older answer was
stored under is simply never asked for again (it expires on its own): there is
nothing to invalidate and no window in which a reader can get a stale answer
under a new version. The same identity gives the ETag. Answers live in shared_store: a store
that is down, or any error of it, means a database read instead: slower, never an error.
"""

from __future__ import annotations

import gzip
import hashlib

from django.conf import settings

from packages_app.api import ratelimit, shared_store
from packages_app.database_identity import database_id

# Bump when the answer format or the window rule changes: old keys and ETags die.
FORMAT_VERSION = 1


def answer_id(name: str, data_version: int, endpoint: str, params: str) -> str:
    """One answer's identity: the database it comes from (data_version starts at 1 in each),
    package, its data version, endpoint, normalised params."""
    return f"{FORMAT_VERSION}:{database_id()}:{name}:{data_version}:{endpoint}:{params}"


def etag(identity: str) -> str:
    return '"' + hashlib.blake2b(identity.encode(), digest_size=12).hexdigest() + '"'


def _key(identity: str) -> str:
    # Names and params are validated ASCII, but keep keys short and safe for
    # every backend (memcached-style key rules) whatever they hold.
    return "api:" + hashlib.blake2b(identity.encode(), digest_size=16).hexdigest()


def get(identity: str) -> shared_store.Answer | None:
    return shared_store.get(_key(identity))


def get_counting(
    identity: str, counter: ratelimit.Counter | None
) -> tuple[shared_store.Answer | None, ratelimit.Verdict | None]:
    """The cached answer and the rate-limit count: on Redis, one round trip (the hot path)."""
    if counter is None:
        return get(identity), None
    count, cached = shared_store.count_and_get(counter.key, counter.ttl, _key(identity))
    return cached, counter.verdict(count)


def put(identity: str, status: int, body: bytes) -> None:
    shared_store.put(_key(identity), (status, body), settings.API_CACHE_TIMEOUT)


# --- The gzip representation, kept beside the plain one ---------------------------------------

# Smaller bodies are sent as they are (as Django's GZipMiddleware does): gzip's own header and
# trailer would eat most of the gain on a 120-byte `recent` answer.
GZIP_MIN_BYTES = 200
# zlib's level 6 (gzip's default) gives ~11x on a 123 KB python_minor answer; 9 gains ~2% more
# for about twice the CPU, paid once per answer and version.
GZIP_LEVEL = 6


def gzip_id(identity: str) -> str:
    return identity + "|gzip"


def compress(body: bytes) -> bytes:
    """gzip without a timestamp (mtime=0): the same answer always compresses to the same bytes."""
    return gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)

"""The default cache, failing open: a cache that is down means slower pages, never an error.

Pages, badges and the quality markers cache what they compute; when Redis does not
answer they compute it again instead of failing. A miss and an outage look the same
to callers (None / nothing stored); an outage is logged so operators see it.
(The JSON API keeps its counters and answers in packages_app/api/shared_store.py.)
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache

logger = logging.getLogger(__name__)

# Reads return Any on purpose: a cache holds whatever its callers pickled under their keys
# and nothing here knows what that was; each caller knows its own key's value.


def get(key: str) -> Any:
    """The cached value, or None when it is not cached or the cache is down."""
    try:
        return cache.get(key)
    except Exception as exc:
        logger.warning("cache get %s failed: %s", key, exc)
        return None


def get_many(keys: list[str]) -> dict[str, Any]:
    try:
        return cache.get_many(keys)
    except Exception as exc:
        logger.warning("cache get_many (%d keys) failed: %s", len(keys), exc)
        return {}


def set(key: str, value: object, timeout: float | None) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        logger.warning("cache set %s failed: %s", key, exc)


def set_many(values: dict[str, object], timeout: float | None) -> None:
    try:
        cache.set_many(values, timeout)
    except Exception as exc:
        logger.warning("cache set_many (%d keys) failed: %s", len(values), exc)

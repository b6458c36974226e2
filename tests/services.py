"""Which real services this test run can reach: Redis, PostgreSQL, Chromium."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable

from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@functools.cache
def redis_available() -> str | None:
    """None when Redis answers, else the reason it cannot be used."""
    url = os.environ.get("REDIS_URL")
    if not url:
        return "REDIS_URL is not set"
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:
        return f"Redis at {url} does not answer ({type(exc).__name__})"
    return None


def postgres_available() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "DATABASE_URL does not point at PostgreSQL"
    return None


def worker_available() -> str | None:
    return redis_available() or postgres_available()


def chromium_available() -> str | None:
    if shutil.which(CHROMIUM) is None and not os.path.exists(CHROMIUM):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


CHECKS: dict[str, Callable[[], str | None]] = {
    "redis": redis_available,
    "postgres": postgres_available,
    "worker": worker_available,
    "e2e": chromium_available,
}

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache

from tests.services import CHECKS

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests whose service is missing, with the reason; fail instead under REQUIRE_SERVICES=1."""
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


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path) -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False  # the lockout tests turn it back on
    settings.HTTPS = False
    settings.SECURE_SSL_REDIRECT = False
    settings.DEMO_UPSTREAM = False
    # Pages render {% static %}: never read a collectstatic manifest a developer may have
    # left under var/, whatever the app under test.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with contextlib.suppress(Exception):  # a test may point the cache at a dead server
        cache.clear()
    yield

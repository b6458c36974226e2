"""The golden seed, written once per test module for the API tests that read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from packages_app.models import Package
from tests.module_data import built_once, for_test
from tests.packages_app import golden


@pytest.fixture(scope="module")
def _golden_seed_of_module(
    django_db_setup: None, django_db_blocker: Any
) -> Iterator[dict[str, Package]]:
    yield from built_once(django_db_blocker, golden.load_seed)


@pytest.fixture
def seeded(
    _golden_seed_of_module: dict[str, Package], db: None, request: pytest.FixtureRequest
) -> dict[str, Package]:
    """The data the upstream golden captures were recorded with (tests/module_data.py)."""
    return for_test(request, _golden_seed_of_module)

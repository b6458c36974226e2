"""Test data built once per test module: Django's TestCase.setUpTestData, for pytest.

A module-scoped fixture builds the data inside a transaction it opens on the test
database (built_once). Each test then runs in pytest-django's own transaction, nested
in it as a savepoint: what a test writes is rolled back after it, and the next test
finds the data as built. for_test() hands each test its own copy of the built objects,
as Django's TestData does, so a test may change them freely. The module's transaction
is rolled back after its last test.

Transactional tests (transactional_db, django_db(transaction=True), live servers)
commit for real, which they cannot do inside that transaction: they build their own
data, and for_test() refuses them.

Once built, the rows stay until the module's last test. So that no test sees data it
did not ask for, the fixtures that build it are named "..._of_module" and
users_last() runs, within each module, the tests that use them after the others.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from pytest_django import DjangoDbBlocker

SUFFIX = "_of_module"


def built_once[T](django_db_blocker: DjangoDbBlocker, build: Callable[[], T]) -> Iterator[T]:
    """Yield what build() wrote, for the tests of one module; roll it back after them."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            data = build()
        except BaseException:
            _roll_back(atomic)
            raise
    try:
        yield data
    finally:
        with django_db_blocker.unblock():
            _roll_back(atomic)


def for_test[T](request: pytest.FixtureRequest, data: T) -> T:
    """This test's own copy of the module's data (the database rows are shared, rolled back)."""
    if is_transactional(request):
        raise pytest.UsageError(
            f"{request.node.nodeid}: a transactional test cannot use data built once per "
            "module (it would run inside that module's transaction); build it in the test"
        )
    return copy.deepcopy(data)


def is_transactional(request: pytest.FixtureRequest) -> bool:
    """The same rule pytest-django applies to pick a transactional test database."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and _commits(*marker.args, **marker.kwargs):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


def _commits(
    transaction: bool = False, reset_sequences: bool = False, *_args: object, **_kwargs: object
) -> bool:
    """django_db(transaction, reset_sequences, ...): either makes the test transactional."""
    return bool(transaction or reset_sequences)


def _roll_back(atomic: Any) -> None:
    transaction.set_rollback(True)
    atomic.__exit__(None, None, None)


def users_last(items: list[pytest.Item]) -> None:
    """Reorder `items` in place: within each run of one module's tests, those that use
    data built once per module (a fixture named "..._of_module") after the others."""
    runs = itertools.groupby(items, key=lambda item: item.nodeid.split("::", 1)[0])
    items[:] = [item for _, run in runs for item in sorted(run, key=_uses_module_data)]


def _uses_module_data(item: pytest.Item) -> bool:
    return any(name.endswith(SUFFIX) for name in getattr(item, "fixturenames", ()))

"""Tracking for a user within the daily limit: the one service the package page, the
compare page and the watchlists use (sync.services.package_track_within_limit)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from pytest_django import Settings

from packages_app.models import Package
from packages_app.sync.services import package_track_within_limit

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> User:
    return get_user_model().objects.create_user("alice", password="correct-horse-1")


def test_a_new_package_starts_and_counts(alice: User, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 1
    outcome = package_track_within_limit(name="New_One", user=alice)
    assert outcome.package is not None and outcome.package.name == "new-one"
    assert (outcome.started, outcome.resumed, outcome.refused, outcome.limit) == (
        True,
        False,
        False,
        1,
    )
    assert outcome.package.added_by == alice
    refused = package_track_within_limit(name="another", user=alice)
    assert refused.refused and refused.package is None and not refused.started
    assert not Package.objects.filter(name="another").exists()


def test_an_existing_package_is_never_refused(alice: User, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 0
    Package.objects.create(name="old", tracked=False)
    Package.objects.create(name="paused", tracked=True, paused=True)
    Package.objects.create(name="busy", tracked=True)
    old = package_track_within_limit(name="old", user=alice)
    assert (old.started, old.resumed, old.refused) == (False, True, False)
    assert Package.objects.get(name="old").tracked
    paused = package_track_within_limit(name="paused", user=alice)
    assert paused.resumed and not Package.objects.get(name="paused").paused
    busy = package_track_within_limit(name="busy", user=alice)
    assert (busy.started, busy.resumed, busy.refused) == (False, False, False)


def test_a_caller_may_count_for_itself(alice: User, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 5
    assert package_track_within_limit(name="a", user=alice, started_today=5).refused
    assert package_track_within_limit(name="b", user=alice, started_today=4).started

"""The whole TrackOutcome of package_track_within_limit, field by field.

The pages word their message from every field (refused or not, started, resumed and
the limit that applied), so each outcome is compared whole, with hand-written values.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from pytest_django import Settings

from packages_app.models import Package
from packages_app.sync.services import TrackOutcome, package_track_within_limit

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob() -> User:
    return get_user_model().objects.create_user("bob", password="correct-horse-2")


def test_a_refused_outcome_is_not_started_not_resumed_and_names_the_limit(
    bob: User, settings: Settings
) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 1
    first = package_track_within_limit(name="first-one", user=bob)
    assert first == TrackOutcome(
        Package.objects.get(name="first-one"), started=True, resumed=False, limit=1
    )
    refused = package_track_within_limit(name="second-one", user=bob)
    assert refused == TrackOutcome(None, started=False, resumed=False, limit=1)


def test_an_already_tracked_package_is_left_as_it_is_and_names_the_limit(
    bob: User, settings: Settings
) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 3
    busy = Package.objects.create(name="busy-one", tracked=True)
    outcome = package_track_within_limit(name="Busy_One", user=bob)
    assert outcome == TrackOutcome(busy, started=False, resumed=False, limit=3)
    assert Package.objects.get(pk=busy.pk).added_by is None


def test_a_paused_package_is_resumed_even_at_the_limit(bob: User, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 0
    paused = Package.objects.create(name="paused-one", tracked=True, paused=True)
    outcome = package_track_within_limit(name="paused-one", user=bob)
    assert outcome == TrackOutcome(paused, started=False, resumed=True, limit=0)
    paused.refresh_from_db()
    assert (paused.tracked, paused.paused) == (True, False)
    assert paused.next_attempt_at is not None

"""The test world: alice owns a team (bob is a member) with a team watchlist and a
private one; charlie is an outsider; the team list is also public by link."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from pytest_django import DjangoDbBlocker

from packages_app.models import Category, Metric, Package, UpstreamState
from tests.module_data import built_once, for_test
from tests.stored_points import Point, store
from watchlists import services
from watchlists.models import Invitation, Membership, Team, Visibility, Watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import User

PASSWORD = "correct horse battery staple"


@dataclass
class World:
    alice: User
    bob: User
    charlie: User
    team: Team
    other_team: Team
    team_list: Watchlist
    private_list: Watchlist
    other_list: Watchlist
    bob_membership: Membership
    invitation: Invitation

    def client_for(self, who: str) -> Client:
        client = Client()
        if who != "anonymous":
            client.force_login(getattr(self, who))
        return client


def make_user(username: str) -> User:
    return get_user_model().objects.create_user(
        username=username, email=f"{username}@example.org", password=PASSWORD
    )


def add_series(package: Package, end: dt.date, values: list[int]) -> None:
    """overall/without_mirrors points for the len(values) days ending at `end`."""
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    store(
        Point(
            package=package,
            category=category,
            date=end - dt.timedelta(days=len(values) - 1 - i),
            downloads=v,
        )
        for i, v in enumerate(values)
    )
    package.latest_date = end
    package.first_date = end - dt.timedelta(days=len(values) - 1)
    package.upstream_state = UpstreamState.OK
    package.save()


@pytest.fixture(scope="module")
def _world_of_module(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[World]:
    yield from built_once(django_db_blocker, build_world)


@pytest.fixture
def world(_world_of_module: World, db: None, request: pytest.FixtureRequest) -> World:
    """The world, built once per test module (tests/module_data.py); a test's writes are
    rolled back after it."""
    return for_test(request, _world_of_module)


@pytest.fixture
def fresh_world(transactional_db: None) -> World:
    """The world built by the test itself, for transactional tests (they commit)."""
    return build_world()


def build_world() -> World:
    alice, bob, charlie = make_user("alice"), make_user("bob"), make_user("charlie")
    team = services.team_create(name="Alice's team", user=alice)
    bob_membership = Membership.objects.create(team=team, user=bob, role=Membership.Role.MEMBER)
    other_team = services.team_create(name="Charlie's team", user=charlie)
    team_list = services.watchlist_create(
        name="Team list", user=alice, team=team, visibility=Visibility.PUBLIC
    )
    private_list = services.watchlist_create(name="Alice private", user=alice)
    other_list = services.watchlist_create(name="Charlie's list", user=charlie, team=other_team)
    package, _ = Package.objects.get_or_create(name="requests")
    add_series(package, dt.date(2026, 11, 22), [100 + i for i in range(100)])
    for wl in (team_list, private_list, other_list):
        services.watchlist_add_packages(watchlist=wl, names=["requests"], user=alice)
    invitation = services.invitation_create(team=team, user=alice)
    return World(
        alice=alice,
        bob=bob,
        charlie=charlie,
        team=team,
        other_team=other_team,
        team_list=team_list,
        private_list=private_list,
        other_list=other_list,
        bob_membership=bob_membership,
        invitation=invitation,
    )

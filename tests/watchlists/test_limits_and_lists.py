"""Creating, renaming, sharing and deleting lists, and the limits with their messages."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from pytest_django import Settings

from packages_app.models import Package
from packages_app.sync.selectors import packages_started_by_user_today
from tests.world import World
from watchlists import services
from watchlists.models import Visibility, Watchlist, WatchlistEntry


def test_create_personal_and_team_lists(world: World) -> None:
    client = world.client_for("bob")
    response = client.post(
        reverse("watchlist_create"), {"name": "Mine", "owner": "me", "visibility": "private"}
    )
    assert response.status_code == 302
    mine = Watchlist.objects.get(name="Mine")
    assert mine.owner_user == world.bob and mine.visibility == Visibility.PRIVATE
    # Any member may create a list for the team; "private" on a team list means the team.
    client.post(
        reverse("watchlist_create"),
        {"name": "Ours", "owner": str(world.team.uid), "visibility": "private"},
    )
    ours = Watchlist.objects.get(name="Ours")
    assert (
        ours.owner_team == world.team
        and ours.owner_user is None
        and ours.visibility == Visibility.TEAM
    )
    # Public lists get a link at once.
    client.post(reverse("watchlist_create"), {"name": "Pub", "owner": "me", "visibility": "public"})
    assert Watchlist.objects.get(name="Pub").public_token


def test_cannot_create_a_list_for_someone_elses_team(world: World) -> None:
    response = world.client_for("bob").post(
        reverse("watchlist_create"),
        {"name": "Sneaky", "owner": str(world.other_team.uid), "visibility": "private"},
    )
    assert response.status_code == 400
    assert not Watchlist.objects.filter(name="Sneaky").exists()


def test_exactly_one_owner_is_enforced_by_the_database(world: World) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(name="both", owner_user=world.alice, owner_team=world.team)
    with pytest.raises(IntegrityError), transaction.atomic():
        Watchlist.objects.create(name="none")


def test_rename_and_visibility(world: World) -> None:
    client = world.client_for("alice")
    url = reverse("watchlist_update", args=[world.private_list.uid])
    client.post(url, {"name": "Renamed", "visibility": "public"})
    wl = Watchlist.objects.get(pk=world.private_list.pk)
    assert wl.name == "Renamed" and wl.visibility == Visibility.PUBLIC and wl.public_token
    # "team" is not offered for a personal list: a form error, nothing saved.
    response = client.post(url, {"name": "X", "visibility": "team"})
    assert response.status_code == 400
    assert Watchlist.objects.get(pk=wl.pk).name == "Renamed"
    response = client.post(url, {"name": "   ", "visibility": "private"})
    assert response.status_code == 400 and b"This field is required" in response.content


def test_delete(world: World) -> None:
    client = world.client_for("alice")
    url = reverse("watchlist_delete", args=[world.team_list.uid])
    response = client.post(url, follow=True)
    assert b"Tick the box to confirm" in response.content
    assert Watchlist.objects.filter(pk=world.team_list.pk).exists()
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    assert not Watchlist.objects.filter(pk=world.team_list.pk).exists()
    assert Package.objects.filter(name="requests", tracked=True).exists()  # packages stay tracked


def test_settings_page_shows_the_public_link(world: World) -> None:
    body = (
        world.client_for("alice")
        .get(reverse("watchlist_settings", args=[world.team_list.uid]))
        .content.decode()
    )
    assert (world.team_list.public_token or "?") in body and "Revoke the link" in body


def test_packages_per_list_limit(world: World, settings: Settings) -> None:
    settings.WATCHLIST_MAX_PACKAGES = 3
    result = services.watchlist_add_packages(
        watchlist=world.private_list, names=["a1", "a2", "a3"], user=world.alice
    )
    assert result.added == ["a1", "a2"]
    assert result.rejected == [("a3", "the watchlist is full (3 packages at most)")]
    assert WatchlistEntry.objects.filter(watchlist=world.private_list).count() == 3
    response = world.client_for("alice").post(
        reverse("watchlist_add", args=[world.private_list.uid]),
        {"name": "a4"},
        headers={"HX-Request": "true"},
    )
    assert b"the watchlist is full (3 packages at most)" in response.content


def test_lists_per_owner_limit(world: World, settings: Settings) -> None:
    settings.WATCHLIST_MAX_PER_OWNER = 2
    client = world.client_for("alice")
    response = client.post(
        reverse("watchlist_create"), {"name": "third", "owner": "me", "visibility": "private"}
    )
    assert response.status_code == 302  # alice had 1 personal list
    response = client.post(
        reverse("watchlist_create"), {"name": "fourth", "owner": "me", "visibility": "private"}
    )
    assert response.status_code == 400
    assert b"the most allowed (2)" in response.content
    assert not Watchlist.objects.filter(name="fourth").exists()
    # The team counts separately.
    response = client.post(
        reverse("watchlist_create"),
        {"name": "team2", "owner": str(world.team.uid), "visibility": "private"},
    )
    assert response.status_code == 302


def test_daily_tracking_limit(world: World, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 2
    result = services.watchlist_add_packages(
        watchlist=world.private_list, names=["new1", "new2", "new3", "requests"], user=world.bob
    )
    assert result.started_tracking == ["new1", "new2"]
    assert [name for name, _ in result.rejected] == ["new3"]
    assert "2 packages today" in result.rejected[0][1]
    assert not Package.objects.filter(name="new3").exists()
    assert packages_started_by_user_today(world.bob) == 2
    # Packages someone already tracks are not limited.
    other = services.watchlist_add_packages(
        watchlist=world.team_list, names=["new1"], user=world.bob
    )
    assert other.added == ["new1"]
    # Tomorrow the budget is back.
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        again = services.watchlist_add_packages(
            watchlist=world.private_list, names=["new3"], user=world.bob
        )
        assert again.started_tracking == ["new3"]


def test_visible_to_and_managed_by(world: World) -> None:
    from django.contrib.auth.models import AnonymousUser

    assert set(Watchlist.objects.visible_to(world.bob)) == {world.team_list}
    assert set(Watchlist.objects.visible_to(world.alice)) == {world.team_list, world.private_list}
    assert set(Watchlist.objects.visible_to(world.charlie)) == {world.other_list}
    assert not Watchlist.objects.visible_to(AnonymousUser()).exists()
    assert set(Watchlist.objects.managed_by(world.bob)) == set()
    assert set(Watchlist.objects.managed_by(world.alice)) == {world.team_list, world.private_list}

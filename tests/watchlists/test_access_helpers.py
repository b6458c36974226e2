"""The access helpers called directly (watchlists/access.py): what each one answers for each
kind of input, the message a developer sees under DEBUG, and the queries it costs.

The views reach them only through login_required and URL converters, so a view test cannot
tell an anonymous caller, a malformed uid or an over-long token being refused by the helper
from one refused by the layer above: these tests give the helpers that input themselves.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.test import RequestFactory
from pytest_django import DjangoAssertNumQueries

from tests.world import World, make_user
from watchlists import access
from watchlists.models import Invitation, Membership, Visibility, Watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def request_of(user: User | AnonymousUser) -> HttpRequest:
    request = RequestFactory().get("/")
    request.user = user
    return request


# --- who is asking ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "helper",
    [
        access.get_team_for_member,
        access.get_team_for_owner,
        access.get_watchlist_for_viewer,
        access.get_watchlist_for_editor,
        access.get_watchlist_for_manager,
    ],
)
def test_an_anonymous_caller_is_a_404_before_any_query(
    world: World, helper: object, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # The team's and the list's real uids: only the caller is wrong.
    for uid in (world.team.uid, world.team_list.uid):
        with django_assert_num_queries(0), pytest.raises(Http404):
            helper(request_of(AnonymousUser()), uid)  # type: ignore[operator]


# --- uids as views get them -------------------------------------------------------------------


def test_a_uid_as_text_or_as_uuid_finds_the_same_team(world: World) -> None:
    request = request_of(world.bob)
    by_uuid = access.get_team_for_member(request, world.team.uid)
    by_text = access.get_team_for_member(request, str(world.team.uid).upper())
    assert by_uuid[0].pk == by_text[0].pk == world.team.pk
    assert by_uuid[1].pk == by_text[1].pk == world.bob_membership.pk


@pytest.mark.parametrize("uid", ["", "team", "12345", str(uuid.UUID(int=7)) + "0"])
def test_text_that_is_not_a_uuid_is_a_404(world: World, uid: str) -> None:
    with pytest.raises(Http404):
        access.get_team_for_member(request_of(world.alice), uid)
    with pytest.raises(Http404):
        access.get_watchlist_for_viewer(request_of(world.alice), uid)


# --- teams ------------------------------------------------------------------------------------


def test_team_helpers_answer_who_is_in_and_who_owns(world: World) -> None:
    team, membership = access.get_team_for_member(request_of(world.bob), world.team.uid)
    assert (team.pk, membership.user_id, membership.role) == (
        world.team.pk,
        world.bob.pk,
        Membership.Role.MEMBER,
    )
    team, membership = access.get_team_for_owner(request_of(world.alice), world.team.uid)
    assert (team.pk, membership.user_id, membership.role) == (
        world.team.pk,
        world.alice.pk,
        Membership.Role.OWNER,
    )
    with pytest.raises(PermissionDenied, match=r"^Only the team's owners can do this\.$"):
        access.get_team_for_owner(request_of(world.bob), world.team.uid)
    for helper in (access.get_team_for_member, access.get_team_for_owner):
        with pytest.raises(Http404, match="^No such team$"):
            helper(request_of(world.charlie), world.team.uid)


def test_the_team_comes_with_the_membership_in_one_query(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(1):
        team, _ = access.get_team_for_member(request_of(world.bob), world.team.uid)
        assert team.name == "Alice's team"


# --- invitations ------------------------------------------------------------------------------


def test_an_invitation_for_its_owner_by_id_as_views_pass_it(world: World) -> None:
    for invitation_id in (world.invitation.pk, str(world.invitation.pk)):
        found = access.get_invitation_for_owner(request_of(world.alice), world.team, invitation_id)  # type: ignore[arg-type]
        assert found.pk == world.invitation.pk
    for wrong in ("", "1.5", "x", None, [1]):
        with pytest.raises(Http404):
            access.get_invitation_for_owner(request_of(world.alice), world.team, wrong)  # type: ignore[arg-type]


def test_an_invitation_of_another_team_is_not_found_by_id(world: World) -> None:
    with pytest.raises(Http404, match="^No such invitation$"):
        access.get_invitation_for_owner(
            request_of(world.charlie), world.other_team, world.invitation.pk
        )


def test_an_invitation_by_its_token_with_its_team_in_one_query(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(1):
        found = access.get_invitation_by_token(world.invitation.token)
        assert found.pk == world.invitation.pk
        assert found.team.name == "Alice's team"


def test_a_token_of_the_longest_stored_length_is_found(world: World) -> None:
    longest = "t" * Invitation._meta.get_field("token").max_length  # type: ignore[operator]
    assert len(longest) == 64
    Invitation.objects.filter(pk=world.invitation.pk).update(token=longest)
    assert access.get_invitation_by_token(longest).pk == world.invitation.pk


@pytest.mark.parametrize("token", ["", "t" * 65, "t" * 1000])
def test_an_empty_or_over_long_invitation_token_is_a_404_without_a_query(
    world: World, token: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0), pytest.raises(Http404):
        access.get_invitation_by_token(token)


def test_an_unknown_invitation_token_is_a_404_that_says_so(world: World) -> None:
    with pytest.raises(Http404, match="^No such invitation$"):
        access.get_invitation_by_token("no-such-token")


# --- watchlists -------------------------------------------------------------------------------


def test_who_may_manage_each_list(world: World) -> None:
    dora = make_user("dora")
    Membership.objects.create(team=world.team, user=dora, role=Membership.Role.OWNER)
    expected = {
        # (list, caller): can_manage; everyone who sees a list may edit its packages.
        ("private_list", "alice"): True,  # her own list
        ("team_list", "alice"): True,  # an owner of the list's team
        ("team_list", "dora"): True,  # a second owner of that team
        ("team_list", "bob"): False,  # a plain member
        ("other_list", "charlie"): True,  # the owner of his own team
    }
    users = {"alice": world.alice, "bob": world.bob, "charlie": world.charlie, "dora": dora}
    for (name, who), can_manage in expected.items():
        watchlist: Watchlist = getattr(world, name)
        got = access.get_watchlist_for_viewer(request_of(users[who]), watchlist.uid)
        assert (got.watchlist.pk, got.can_edit, got.can_manage) == (
            watchlist.pk,
            True,
            can_manage,
        ), (name, who)
        assert access.get_watchlist_for_editor(request_of(users[who]), watchlist.uid).can_edit
        if can_manage:
            managed = access.get_watchlist_for_manager(request_of(users[who]), watchlist.uid)
            assert managed.watchlist.pk == watchlist.pk
        else:
            with pytest.raises(
                PermissionDenied, match=r"^Only the watchlist's owner can do this\.$"
            ):
                access.get_watchlist_for_manager(request_of(users[who]), watchlist.uid)


def test_a_member_of_the_team_does_not_manage_a_list_of_another_team_they_own(
    world: World,
) -> None:
    """bob owns a team of his own: that does not make him a manager of alice's team list."""
    from watchlists import services

    services.team_create(name="Bob's team", user=world.bob)
    got = access.get_watchlist_for_viewer(request_of(world.bob), world.team_list.uid)
    assert got.can_manage is False


def test_a_list_someone_may_not_see_is_a_404_that_says_so(world: World) -> None:
    for helper in (
        access.get_watchlist_for_viewer,
        access.get_watchlist_for_editor,
        access.get_watchlist_for_manager,
    ):
        for name in ("private_list", "other_list"):
            with pytest.raises(Http404, match="^No such watchlist$"):
                helper(request_of(world.bob), getattr(world, name).uid)


def test_a_list_comes_with_its_owners_in_one_query(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    # alice's own list: no membership query is needed to know she manages it.
    with django_assert_num_queries(1):
        got = access.get_watchlist_for_viewer(request_of(world.alice), world.private_list.uid)
        assert got.watchlist.owner_user is not None
        assert got.watchlist.owner_user.username == "alice"
        assert got.watchlist.owner_team is None
    # A team list: the list with its team, then the one membership check.
    with django_assert_num_queries(2):
        got = access.get_watchlist_for_viewer(request_of(world.bob), world.team_list.uid)
        assert got.watchlist.owner_team is not None
        assert got.watchlist.owner_team.name == "Alice's team"


def test_a_shared_list_by_its_token_is_read_only_for_anyone(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    token = world.team_list.public_token
    assert token
    with django_assert_num_queries(1):
        got = access.get_watchlist_by_public_token(token)
        assert got.watchlist.owner_team is not None
        assert got.watchlist.owner_team.name == "Alice's team"
    assert (got.watchlist.pk, got.can_edit, got.can_manage) == (world.team_list.pk, False, False)


def test_a_token_of_a_list_made_private_again_is_a_404(world: World) -> None:
    token = world.team_list.public_token
    assert token
    Watchlist.objects.filter(pk=world.team_list.pk).update(visibility=Visibility.PRIVATE)
    with pytest.raises(Http404, match="^No such watchlist$"):
        access.get_watchlist_by_public_token(token)


def test_a_public_token_of_the_longest_stored_length_is_found(world: World) -> None:
    longest = "s" * 64
    Watchlist.objects.filter(pk=world.team_list.pk).update(public_token=longest)
    assert access.get_watchlist_by_public_token(longest).watchlist.pk == world.team_list.pk


@pytest.mark.parametrize("token", ["", "s" * 65])
def test_an_empty_or_over_long_public_token_is_a_404_without_a_query(
    world: World, token: str, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    with django_assert_num_queries(0), pytest.raises(Http404):
        access.get_watchlist_by_public_token(token)


def test_a_personal_list_shared_by_token_comes_with_its_owner_in_one_query(
    world: World, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    Watchlist.objects.filter(pk=world.private_list.pk).update(
        visibility=Visibility.PUBLIC, public_token="alice-shares"
    )
    with django_assert_num_queries(1):
        got = access.get_watchlist_by_public_token("alice-shares")
        assert got.watchlist.owner_user is not None
        assert got.watchlist.owner_user.username == "alice"
    assert (got.watchlist.pk, got.can_edit, got.can_manage) == (world.private_list.pk, False, False)

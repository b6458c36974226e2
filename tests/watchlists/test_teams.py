"""Team rules: a team always keeps an owner; invitations expire, can be revoked, work once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests.world import World, make_user
from watchlists import services
from watchlists.models import Invitation, Membership


def test_creator_becomes_owner(world: World) -> None:
    client = world.client_for("charlie")
    response = client.post(reverse("team_create"), {"name": "  New team "})
    assert response.status_code == 302
    membership = Membership.objects.get(team__name="New team", user=world.charlie)
    assert membership.role == Membership.Role.OWNER


def test_blank_team_name_is_a_form_error(world: World) -> None:
    response = world.client_for("charlie").post(reverse("team_create"), {"name": "   "})
    assert response.status_code == 400
    assert b"errorlist" in response.content


def alice_membership(world: World) -> Membership:
    return Membership.objects.get(team=world.team, user=world.alice)


def test_last_owner_cannot_leave(world: World) -> None:
    page = world.client_for("alice").get(reverse("team_detail", args=[world.team.uid]))
    assert b"only owner" in page.content and b"Leave the team" not in page.content
    assert (
        b"Leave the team"
        in world.client_for("bob").get(reverse("team_detail", args=[world.team.uid])).content
    )
    response = world.client_for("alice").post(
        reverse("team_leave", args=[world.team.uid]), follow=True
    )
    assert b"A team must keep an owner" in response.content
    assert alice_membership(world).is_owner


def test_last_owner_cannot_be_demoted_or_removed(world: World) -> None:
    with pytest.raises(services.LastOwnerError):
        services.membership_set_role(membership=alice_membership(world), role="member")
    with pytest.raises(services.LastOwnerError):
        services.membership_remove(membership=alice_membership(world))
    assert alice_membership(world).is_owner


def test_owner_can_leave_after_handing_over(world: World) -> None:
    client = world.client_for("alice")
    client.post(
        reverse("team_hand_over", args=[world.team.uid]), {"successor": world.bob_membership.pk}
    )
    assert Membership.objects.get(pk=world.bob_membership.pk).is_owner
    assert not alice_membership(world).is_owner
    # Alice is now a plain member: owner actions are refused.
    assert client.post(reverse("invitation_create", args=[world.team.uid])).status_code == 403
    assert client.post(reverse("team_leave", args=[world.team.uid])).status_code == 302
    assert not Membership.objects.filter(team=world.team, user=world.alice).exists()
    assert Membership.objects.filter(team=world.team, role="owner").count() == 1


def test_owner_promotes_then_demotes_self_through_another_owner(world: World) -> None:
    client = world.client_for("alice")
    client.post(
        reverse("member_role", args=[world.team.uid, world.bob_membership.pk]), {"role": "owner"}
    )
    bob = world.client_for("bob")
    bob.post(
        reverse("member_role", args=[world.team.uid, alice_membership(world).pk]),
        {"role": "member"},
    )
    assert not alice_membership(world).is_owner
    # Bob is the last owner now and cannot demote himself through the service either.
    with pytest.raises(services.LastOwnerError):
        services.membership_set_role(
            membership=Membership.objects.get(pk=world.bob_membership.pk), role="member"
        )


def test_owner_removes_member_and_member_leaves(world: World) -> None:
    carol = make_user("carol")
    carol_m = Membership.objects.create(team=world.team, user=carol)
    world.client_for("alice").post(reverse("member_remove", args=[world.team.uid, carol_m.pk]))
    assert not Membership.objects.filter(pk=carol_m.pk).exists()
    world.client_for("bob").post(reverse("team_leave", args=[world.team.uid]))
    assert not Membership.objects.filter(team=world.team, user=world.bob).exists()
    # Out of the team means out of its lists.
    assert (
        world.client_for("bob")
        .get(reverse("watchlist_detail", args=[world.team_list.uid]))
        .status_code
        == 404
    )


def test_bad_role_value_is_refused(world: World) -> None:
    response = world.client_for("alice").post(
        reverse("member_role", args=[world.team.uid, world.bob_membership.pk]),
        {"role": "admin"},
        follow=True,
    )
    assert b"Pick a role" in response.content
    assert Membership.objects.get(pk=world.bob_membership.pk).role == "member"


def test_invitation_lifecycle_messages(world: World) -> None:
    charlie = world.client_for("charlie")
    # Revoked.
    revoked = services.invitation_create(team=world.team, user=world.alice)
    world.client_for("alice").post(reverse("invitation_revoke", args=[world.team.uid, revoked.pk]))
    response = charlie.get(reverse("invitation", args=[revoked.token]))
    assert response.status_code == 410 and b"revoked" in response.content
    assert charlie.post(reverse("invitation", args=[revoked.token])).status_code == 410
    # Expired: 7 days later.
    expiring = services.invitation_create(team=world.team, user=world.alice)
    assert expiring.expires_at - expiring.created_at == dt.timedelta(days=7)
    with time_machine.travel(timezone.now() + dt.timedelta(days=7, seconds=1)):
        response = charlie.post(reverse("invitation", args=[expiring.token]))
        assert response.status_code == 410 and b"expired" in response.content
    assert not Membership.objects.filter(team=world.team, user=world.charlie).exists()
    # Still valid just before.
    with time_machine.travel(timezone.now() + dt.timedelta(days=6, hours=23)):
        assert charlie.post(reverse("invitation", args=[expiring.token])).status_code == 302
    assert Membership.objects.filter(team=world.team, user=world.charlie).exists()
    assert Invitation.objects.get(pk=expiring.pk).state == Invitation.State.ACCEPTED


def test_member_accepting_does_not_consume_the_link(world: World) -> None:
    response = world.client_for("bob").post(reverse("invitation", args=[world.invitation.token]))
    assert response.status_code == 302
    assert Invitation.objects.get(pk=world.invitation.pk).state == Invitation.State.PENDING


def test_accept_claims_the_row_once(world: World) -> None:
    """Two accepts of one link: the conditional UPDATE lets only the first through."""
    dave = make_user("dave")
    invitation = Invitation.objects.get(pk=world.invitation.pk)
    stale_copy = Invitation.objects.get(pk=world.invitation.pk)
    services.invitation_accept(invitation=invitation, user=world.charlie)
    with pytest.raises(services.InvitationUnusable):
        services.invitation_accept(invitation=stale_copy, user=dave)
    assert not Membership.objects.filter(user=dave).exists()


def test_revoking_a_used_invitation_says_so(world: World) -> None:
    services.invitation_accept(invitation=world.invitation, user=world.charlie)
    response = world.client_for("alice").post(
        reverse("invitation_revoke", args=[world.team.uid, world.invitation.pk]), follow=True
    )
    assert b"already used, revoked or expired" in response.content


def test_a_signed_out_invitation_link_says_which_team_invites(world: World) -> None:
    from django.test import Client
    from django.utils.html import escape

    team = escape(world.team.name)
    link = reverse("invitation", args=[world.invitation.token])
    anonymous = Client()
    login = anonymous.get(link, follow=True)
    assert login.redirect_chain and "/accounts/login/" in login.redirect_chain[-1][0]
    page = login.content.decode()
    assert "invited you to join the team <strong>" + team + "</strong>" in page
    assert "<strong>alice</strong> invited you" in page
    # The signup page it links to says it too.
    signup = anonymous.get(reverse("signup"), {"next": link}).content.decode()
    assert team in signup and "invited you" in signup
    # A dead link tells nothing about the team; any other next, nothing either.
    Invitation.objects.filter(pk=world.invitation.pk).update(revoked_at=timezone.now())
    dead = anonymous.get(link, follow=True).content.decode()
    assert team not in dead and "invited you" not in dead
    assert "invited you" not in anonymous.get(reverse("login"), {"next": "/nope/"}).content.decode()

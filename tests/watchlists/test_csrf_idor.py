"""Every state change needs the CSRF token (HTMX included); nothing is reachable by guessing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from tests.world import World
from watchlists import services
from watchlists.models import Invitation, Membership, Watchlist

from .test_access_matrix import CASES, Outcome, snapshot

POST_CASES = [c for c in CASES if c[1] == "post"]


@pytest.mark.parametrize("htmx", [False, True], ids=["form", "htmx"])
@pytest.mark.parametrize(
    ("case", "method", "url", "data", "expected"), POST_CASES, ids=[c[0] for c in POST_CASES]
)
def test_post_without_csrf_token_is_refused(
    world: World,
    htmx: bool,
    case: str,
    method: str,
    url: Callable[[World], str],
    data: dict[str, str],
    expected: dict[str, Outcome],
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    before = snapshot()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(url(world), data, headers=headers)
    assert response.status_code == 403
    assert snapshot() == before


def test_post_with_csrf_token_header_works_for_htmx(world: World) -> None:
    """The token htmx sends from <body hx-headers> is accepted: the test above is not vacuous."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.alice)
    page = client.get(reverse("watchlist_detail", args=[world.team_list.uid]))
    token = page.context["csrf_token"]
    response = client.post(
        reverse("watchlist_add", args=[world.team_list.uid]),
        {"name": "numpy"},
        headers={"HX-Request": "true", "X-CSRFToken": str(token)},
    )
    assert response.status_code == 200
    assert world.team_list.entries.filter(package__name="numpy").exists()


def test_logout_is_post_only(world: World) -> None:
    client = world.client_for("alice")
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session


def test_other_teams_objects_are_404_by_id(world: World) -> None:
    client = world.client_for("alice")
    charlie_membership = Membership.objects.get(team=world.other_team, user=world.charlie)
    other_invitation = services.invitation_create(team=world.other_team, user=world.charlie)
    before = snapshot()
    # Alice owns her team, but ids of another team's rows do not resolve under it.
    assert (
        client.post(
            reverse("member_remove", args=[world.team.uid, charlie_membership.pk])
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("member_role", args=[world.team.uid, charlie_membership.pk]), {"role": "member"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("invitation_revoke", args=[world.team.uid, other_invitation.pk])
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("team_hand_over", args=[world.team.uid]), {"successor": charlie_membership.pk}
        ).status_code
        == 404
    )
    # And the other team and its list by uid.
    assert client.get(reverse("team_detail", args=[world.other_team.uid])).status_code == 404
    assert client.get(reverse("watchlist_detail", args=[world.other_list.uid])).status_code == 404
    assert snapshot() == before


def test_guessed_identifiers_are_404(world: World) -> None:
    client = world.client_for("alice")
    assert client.get(reverse("watchlist_detail", args=[uuid.uuid4()])).status_code == 404
    assert client.get(reverse("team_detail", args=[uuid.uuid4()])).status_code == 404
    assert (
        client.get(f"/watchlists/{world.team_list.pk}/").status_code == 404
    )  # sequential ids are not routes
    assert client.get(reverse("watchlist_public", args=["x" * 43])).status_code == 404
    assert client.get(reverse("invitation", args=["x" * 43])).status_code == 404
    assert client.get(reverse("watchlist_suggest") + "?list=not-a-uuid&name=r").status_code == 404


def test_revoked_or_replaced_public_token_is_404(world: World) -> None:
    anonymous = Client()
    old = world.team_list.public_token
    assert old
    services.watchlist_share_regenerate(watchlist=world.team_list)
    assert anonymous.get(reverse("watchlist_public", args=[old])).status_code == 404
    new = Watchlist.objects.get(pk=world.team_list.pk).public_token
    assert new and new != old
    assert anonymous.get(reverse("watchlist_public", args=[new])).status_code == 200
    services.watchlist_share_revoke(watchlist=world.team_list)
    assert anonymous.get(reverse("watchlist_public", args=[new])).status_code == 404


def test_making_a_list_private_kills_its_link(world: World) -> None:
    token = world.team_list.public_token
    client = world.client_for("alice")
    client.post(
        reverse("watchlist_update", args=[world.team_list.uid]), {"name": "T", "visibility": "team"}
    )
    assert Client().get(reverse("watchlist_public", args=[token])).status_code == 404


def test_tokens_are_unguessable(world: World) -> None:
    tokens = {
        services.invitation_create(team=world.team, user=world.alice).token for _ in range(20)
    }
    assert len(tokens) == 20 and all(len(t) >= 43 for t in tokens)
    assert len(world.team_list.public_token or "") >= 43


def test_someone_elses_used_invitation_cannot_be_reused(world: World) -> None:
    url = reverse("invitation", args=[world.invitation.token])
    assert world.client_for("charlie").post(url).status_code == 302
    dave_client = Client()
    from tests.world import make_user

    dave = make_user("dave")
    dave_client.force_login(dave)
    response = dave_client.post(url)
    assert response.status_code == 410
    assert b"already been used" in response.content
    assert not Membership.objects.filter(user=dave).exists()
    assert Invitation.objects.get(pk=world.invitation.pk).accepted_by == world.charlie

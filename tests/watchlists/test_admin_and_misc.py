"""Admin pages, HTMX sign-in redirects, and the owner invariant under concurrency."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.world import World
from watchlists import services
from watchlists.models import Invitation, Membership, Team, Watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@pytest.mark.parametrize("model", [Team, Membership, Invitation, Watchlist])
def test_admin_pages(
    world: World, model: type[Team] | type[Membership] | type[Invitation] | type[Watchlist]
) -> None:
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "x" * 12)
    client = Client()
    client.force_login(admin)
    opts = model._meta
    changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    assert client.get(changelist).status_code == 200
    assert client.get(changelist, {"q": "alice"}).status_code == 200
    obj = model.objects.first()
    assert obj is not None
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    body = client.get(change).content.decode()
    if isinstance(obj, Invitation):
        assert obj.token not in body  # the token is a credential: never shown
    if model is Watchlist:
        assert "requests" in body or "Watchlist entries" in body  # entries inline


def test_htmx_request_from_a_signed_out_page_gets_a_client_redirect(world: World) -> None:
    response = Client().post(
        reverse("watchlist_add", args=[world.team_list.uid]),
        {"name": "numpy"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/watchlists/x/"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=%2Fwatchlists%2Fx%2F"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_keep_an_owner() -> None:
    """Both see two owners; the row lock makes the second one see one, and refuse."""
    users = [get_user_model().objects.create_user(n, f"{n}@example.org", "x" * 12) for n in "ab"]
    team = services.team_create(name="race", user=users[0])
    second = Membership.objects.create(team=team, user=users[1], role=Membership.Role.OWNER)
    first = Membership.objects.get(team=team, user=users[0])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(membership: Membership) -> None:
        try:
            barrier.wait()
            services.membership_set_role(membership=membership, role=Membership.Role.MEMBER)
            outcomes.append("ok")
        except services.LastOwnerError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    assert Membership.objects.filter(team=team, role=Membership.Role.OWNER).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_invitation_accepted_twice_at_once_admits_one() -> None:
    users = [get_user_model().objects.create_user(n, f"{n}@example.org", "x" * 12) for n in "abc"]
    team = services.team_create(name="race", user=users[0])
    invitation = services.invitation_create(team=team, user=users[0])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(user: User) -> None:
        try:
            barrier.wait()
            services.invitation_accept(
                invitation=Invitation.objects.get(pk=invitation.pk), user=user
            )
            outcomes.append("joined")
        except services.InvitationUnusable:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=accept, args=(u,)) for u in users[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["joined", "refused"]
    assert Membership.objects.filter(team=team).count() == 2

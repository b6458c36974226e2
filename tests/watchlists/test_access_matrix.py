"""Who may do what: every team and watchlist view and action, for each kind of caller.

The callers: alice (owner of the team and of a private list), dora (a second owner of
the team, added by the test), bob (a plain member), charlie (an outsider), anonymous.
Expected outcomes: a status code, "login" (redirect to the login page, nothing done),
"ok" (a redirect after the action did its work, which EFFECTS checks in the database),
"refused" or "noop" (a redirect, and nothing in the database changed: a rule refused the
action, or there was nothing to do). Anything but "ok" must leave the database exactly
as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from django.test import Client
from django.urls import reverse

from tests.world import World, make_user
from watchlists.models import Invitation, Membership, Team, Watchlist, WatchlistEntry

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ROLES = ["alice", "dora", "bob", "charlie", "anonymous"]


def snapshot() -> object:
    """What a denied request must not change (compared for equality only)."""
    return (
        sorted(Watchlist.objects.values_list("pk", "name", "visibility", "public_token")),
        sorted(WatchlistEntry.objects.values_list("watchlist_id", "package_id", "note")),
        sorted(Membership.objects.values_list("team_id", "user_id", "role")),
        sorted(Invitation.objects.values_list("pk", "revoked_at", "accepted_at")),
        sorted(Team.objects.values_list("pk", "name")),
    )


def wl(name: str, route: str) -> Callable[[World], str]:
    return lambda w: reverse(route, args=[getattr(w, name).uid])


def team(route: str, *extra: Callable[[World], int]) -> Callable[[World], str]:
    return lambda w: reverse(route, args=[w.team.uid, *(f(w) for f in extra)])


BOB_M = lambda w: w.bob_membership.pk  # noqa: E731
INV = lambda w: w.invitation.pk  # noqa: E731

# What a role gets: a status code, "login" (sent to the login page, nothing done) or "ok"
# (the action's redirect).
type Outcome = int | str
# (id, method, url, form data, {role: expected})
type Case = tuple[str, str, Callable[[World], str], dict[str, str], dict[str, Outcome]]

TEAM_LIST_READ: dict[str, Outcome] = {
    "alice": 200,
    "dora": 200,
    "bob": 200,
    "charlie": 404,
    "anonymous": "login",
}
TEAM_LIST_EDIT: dict[str, Outcome] = {
    "alice": "ok",
    "dora": "ok",
    "bob": "ok",
    "charlie": 404,
    "anonymous": "login",
}
TEAM_LIST_MANAGE: dict[str, Outcome] = {
    "alice": "ok",
    "dora": "ok",
    "bob": 403,
    "charlie": 404,
    "anonymous": "login",
}
PRIVATE_READ: dict[str, Outcome] = {
    "alice": 200,
    "dora": 404,
    "bob": 404,
    "charlie": 404,
    "anonymous": "login",
}
PRIVATE_EDIT: dict[str, Outcome] = {
    "alice": "ok",
    "dora": 404,
    "bob": 404,
    "charlie": 404,
    "anonymous": "login",
}

CASES: list[Case] = []
for list_name, read, edit, manage in [
    ("team_list", TEAM_LIST_READ, TEAM_LIST_EDIT, TEAM_LIST_MANAGE),
    ("private_list", PRIVATE_READ, PRIVATE_EDIT, PRIVATE_EDIT),
]:
    settings_get = {role: 200 if want == "ok" else want for role, want in manage.items()}
    CASES += [
        (f"{list_name}-detail", "get", wl(list_name, "watchlist_detail"), {}, read),
        (
            f"{list_name}-detail-sorted",
            "get",
            wl(list_name, "watchlist_detail"),
            {"sort": "-day"},
            read,
        ),
        (f"{list_name}-settings", "get", wl(list_name, "watchlist_settings"), {}, settings_get),
        (f"{list_name}-add", "post", wl(list_name, "watchlist_add"), {"name": "numpy"}, edit),
        (
            f"{list_name}-bulk",
            "post",
            wl(list_name, "watchlist_bulk"),
            {"text": "numpy>=1\n"},
            edit,
        ),
        (
            f"{list_name}-remove",
            "post",
            wl(list_name, "watchlist_remove"),
            {"name": "requests"},
            edit,
        ),
        (
            f"{list_name}-note",
            "post",
            wl(list_name, "watchlist_note"),
            {"name": "requests", "note": "hi"},
            edit,
        ),
        (
            f"{list_name}-update",
            "post",
            wl(list_name, "watchlist_update"),
            {"name": "New", "visibility": "public"},
            manage,
        ),
        (f"{list_name}-share", "post", wl(list_name, "watchlist_share"), {}, manage),
        (
            f"{list_name}-unshare",
            "post",
            wl(list_name, "watchlist_unshare"),
            {},
            # The private list has no public link to revoke: nothing to do.
            manage if list_name == "team_list" else dict(manage, alice="noop"),
        ),
        (
            f"{list_name}-delete",
            "post",
            wl(list_name, "watchlist_delete"),
            {"confirm": "yes"},
            manage,
        ),
    ]
CASES += [
    (
        "poll",
        "get",
        lambda w: reverse("watchlist_poll", args=[w.team_list.uid]) + "?waiting=requests",
        {},
        TEAM_LIST_READ,
    ),
    (
        "suggest",
        "get",
        lambda w: reverse("watchlist_suggest") + f"?list={w.team_list.uid}&name=req",
        {},
        TEAM_LIST_READ,
    ),
    ("team-detail", "get", team("team_detail"), {}, TEAM_LIST_READ),
    ("team-rename", "post", team("team_rename"), {"name": "X"}, TEAM_LIST_MANAGE),
    ("team-invite", "post", team("invitation_create"), {}, TEAM_LIST_MANAGE),
    ("team-revoke", "post", team("invitation_revoke", INV), {}, TEAM_LIST_MANAGE),
    ("team-remove-bob", "post", team("member_remove", BOB_M), {}, TEAM_LIST_MANAGE),
    ("team-role-bob", "post", team("member_role", BOB_M), {"role": "owner"}, TEAM_LIST_MANAGE),
    ("team-hand-over", "post", team("team_hand_over"), {"successor": "0"}, TEAM_LIST_MANAGE),
    # The only owner cannot leave (with dora there, alice is not the only one, but the
    # test adds dora only when she is the caller).
    ("team-leave", "post", team("team_leave"), {}, dict(TEAM_LIST_EDIT, alice="refused")),
]
# Pages and actions scoped to the caller themselves (no object in the URL).
SIGNED_IN_GET: dict[str, Outcome] = {
    "alice": 200,
    "dora": 200,
    "bob": 200,
    "charlie": 200,
    "anonymous": "login",
}
SIGNED_IN_POST: dict[str, Outcome] = {
    "alice": "ok",
    "dora": "ok",
    "bob": "ok",
    "charlie": "ok",
    "anonymous": "login",
}
CASES += [
    ("dashboard", "get", lambda w: reverse("dashboard"), {}, SIGNED_IN_GET),
    ("watchlist-list", "get", lambda w: reverse("watchlist_list"), {}, SIGNED_IN_GET),
    ("team-list", "get", lambda w: reverse("team_list"), {}, SIGNED_IN_GET),
    ("profile", "get", lambda w: reverse("profile"), {}, SIGNED_IN_GET),
    ("team-create", "post", lambda w: reverse("team_create"), {"name": "T"}, SIGNED_IN_POST),
    (
        "watchlist-create",
        "post",
        lambda w: reverse("watchlist_create"),
        {"name": "L", "owner": "me", "visibility": "private"},
        SIGNED_IN_POST,
    ),
    (
        "invitation-accept",
        "post",
        lambda w: reverse("invitation", args=[w.invitation.token]),
        {},
        # Members already in the team keep the link unused (services.invitation_accept).
        dict(SIGNED_IN_POST, alice="noop", dora="noop", bob="noop"),
    ),
]


def _entry(w: World, list_name: str, package: str) -> WatchlistEntry | None:
    watchlist: Watchlist = getattr(w, list_name)
    return WatchlistEntry.objects.filter(watchlist=watchlist, package__name=package).first()


def _list(w: World, list_name: str) -> Watchlist | None:
    return Watchlist.objects.filter(pk=getattr(w, list_name).pk).first()


def _role(w: World, user: User) -> str | None:
    membership = Membership.objects.filter(team=w.team, user=user).first()
    return None if membership is None else membership.role


# What each allowed action must have done, read back from the database: (world, caller).
Effect = Callable[[World, "User"], bool]


def list_effects(n: str) -> dict[str, Effect]:
    """The effects of the list actions on the list `n` names in the world."""

    def updated(w: World, u: User) -> bool:
        wl = _list(w, n)
        return (
            wl is not None
            and (wl.name, wl.visibility) == ("New", "public")
            and bool(wl.public_token)
        )

    def shared(w: World, u: User) -> bool:
        wl = _list(w, n)
        old_token = getattr(w, n).public_token
        return (
            wl is not None
            and wl.visibility == "public"
            and wl.public_token
            not in (
                None,
                old_token,
            )
        )

    return {
        f"{n}-add": lambda w, u: _entry(w, n, "numpy") is not None,
        f"{n}-bulk": lambda w, u: _entry(w, n, "numpy") is not None,
        f"{n}-remove": lambda w, u: _entry(w, n, "requests") is None,
        f"{n}-note": lambda w, u: getattr(_entry(w, n, "requests"), "note", "") == "hi",
        f"{n}-update": updated,
        f"{n}-share": shared,
        f"{n}-delete": lambda w, u: _list(w, n) is None,
    }


EFFECTS: dict[str, Effect] = list_effects("team_list") | list_effects("private_list")
EFFECTS["team_list-unshare"] = lambda w, u: (
    (wl := _list(w, "team_list")) is not None and (wl.public_token, wl.visibility) == (None, "team")
)
EFFECTS |= {
    "team-rename": lambda w, u: Team.objects.get(pk=w.team.pk).name == "X",
    "team-invite": lambda w, u: Invitation.objects.filter(team=w.team, created_by=u).exists(),
    "team-revoke": lambda w, u: Invitation.objects.get(pk=w.invitation.pk).revoked_at is not None,
    "team-remove-bob": lambda w, u: _role(w, w.bob) is None,
    "team-role-bob": lambda w, u: _role(w, w.bob) == "owner",
    "team-hand-over": lambda w, u: (_role(w, w.bob), _role(w, u)) == ("owner", "member"),
    "team-leave": lambda w, u: _role(w, u) is None,
    "team-create": lambda w, u: Membership.objects.filter(
        team__name="T", user=u, role="owner"
    ).exists(),
    "watchlist-create": lambda w, u: Watchlist.objects.filter(
        name="L", owner_user=u, created_by=u
    ).exists(),
    "invitation-accept": lambda w, u: (
        _role(w, u) == "member"
        and Invitation.objects.get(pk=w.invitation.pk).accepted_by_id == u.pk
    ),
}


def test_every_allowed_action_has_an_effect_to_check() -> None:
    allowed = {case for case, method, _, _, expected in CASES if "ok" in expected.values()}
    assert {c for c in allowed if c in {c for c, m, *_ in CASES if m == "post"}} == set(EFFECTS)


def _client(world: World, role: str) -> tuple[Client, User | None]:
    if role == "dora":
        # A second owner of alice's team, only in dora's own cases (so that alice stays
        # the only owner in hers).
        dora = make_user("dora")
        Membership.objects.create(team=world.team, user=dora, role=Membership.Role.OWNER)
        client = Client()
        client.force_login(dora)
        return client, dora
    return world.client_for(role), getattr(world, role, None)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("case", "method", "url", "data", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_matrix(
    world: World,
    role: str,
    case: str,
    method: str,
    url: Callable[[World], str],
    data: dict[str, str],
    expected: dict[str, Outcome],
) -> None:
    client, user = _client(world, role)
    target = url(world)
    if case == "team-hand-over":
        data = {"successor": str(world.bob_membership.pk)}
    before = snapshot()
    response = getattr(client, method)(target, data)
    want = expected[role]
    if want == "login":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif want in ("ok", "refused", "noop"):
        assert response.status_code == 302, response.content[:500]
        assert not response["Location"].startswith(reverse("login"))
    else:
        assert response.status_code == want
    if want == "ok" and method == "post":
        assert user is not None
        assert snapshot() != before, "an allowed action changed nothing"
        assert EFFECTS[case](world, user), "the allowed action did not do its work"
    elif method == "post":
        assert snapshot() == before, f"a {want} request changed the database"
    if method == "get":
        assert snapshot() == before, "a GET changed the database"


POST_ONLY = [c for c in CASES if c[1] == "post" and c[0] != "invitation-accept"]


@pytest.mark.parametrize(
    ("case", "method", "url", "data", "expected"), POST_ONLY, ids=[c[0] for c in POST_ONLY]
)
def test_get_on_an_action_is_refused(
    world: World,
    case: str,
    method: str,
    url: Callable[[World], str],
    data: dict[str, str],
    expected: dict[str, Outcome],
) -> None:
    before = snapshot()
    assert world.client_for("alice").get(url(world), data).status_code == 405
    assert snapshot() == before


@pytest.mark.parametrize("role", ["alice", "bob", "charlie", "anonymous"])
def test_public_link_is_read_only_for_everyone(world: World, role: str) -> None:
    client = world.client_for(role)
    url = reverse("watchlist_public", args=[world.team_list.public_token])
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "requests" in body
    assert "watchlist_add" not in body and "Remove" not in body and "Add a package" not in body
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Team watchlist of" not in body and "Alice&#x27;s team" not in body  # keeper not shared
    before = snapshot()
    assert client.post(url, {"name": "numpy"}).status_code == 405
    assert snapshot() == before


def test_public_link_sorts_with_htmx(world: World) -> None:
    url = reverse("watchlist_public", args=[world.team_list.public_token])
    response = world.client_for("anonymous").get(
        url, {"sort": "name"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b'id="watchlist-table"' in response.content
    assert b"<html" not in response.content
    assert "HX-Request" in response["Vary"]


def test_private_list_has_no_public_link(world: World) -> None:
    assert world.private_list.public_token is None


def test_invitation_page_matrix(world: World) -> None:
    url = reverse("invitation", args=[world.invitation.token])
    anonymous = world.client_for("anonymous").get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))
    for role in ("alice", "bob", "charlie"):
        assert world.client_for(role).get(url).status_code == 200
    # GET never accepts.
    assert not Membership.objects.filter(team=world.team, user=world.charlie).exists()
    assert world.client_for("charlie").post(url).status_code == 302
    assert Membership.objects.filter(team=world.team, user=world.charlie, role="member").exists()

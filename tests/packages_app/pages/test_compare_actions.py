"""Compare page actions: tracking from the page, progress polling, save as watchlist,
opening a watchlist as a comparison. Every write is a POST with CSRF; GET never writes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from packages_app.models import Package, UpstreamState
from tests.packages_app.pages.compare_data import put_series
from tests.world import World
from watchlists.models import Watchlist

pytestmark = pytest.mark.django_db

PAGE = "/compare/?packages=django,brand-new"


def csrf_client(user: Any) -> tuple[Client, str]:
    """A client that enforces CSRF, signed in, with the token the page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    html = client.get(PAGE).content.decode()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match
    return client, match.group(1)


# --- tracking ------------------------------------------------------------------------------------


def test_get_never_tracks(client: Client, world: World) -> None:
    put_series("django", [5] * 30)
    client.force_login(world.alice)
    for url in (
        PAGE,
        "/compare/?packages=brand-new&mode=share",
        "/compare/export.csv?packages=brand-new",
    ):
        client.get(url)
        client.get(url, HTTP_HX_REQUEST="true")
    client.get("/compare/suggest/?add=brand-new", HTTP_HX_REQUEST="true")
    client.get("/compare/status/brand-new/", HTTP_HX_REQUEST="true")
    assert not Package.objects.filter(name="brand-new").exists()
    assert client.get("/compare/track/?name=brand-new").status_code == 405


def test_anonymous_sees_sign_in_link_and_cannot_track(client: Client, world: World) -> None:
    put_series("django", [5] * 30)
    html = client.get(PAGE).content.decode()
    assert "not tracked yet" in html and "/accounts/login/?next=" in html
    assert "Start tracking" not in html
    response = client.post("/compare/track/", {"name": "brand-new", "packages": "django,brand-new"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not Package.objects.filter(name="brand-new").exists()


def test_signed_in_user_starts_tracking_with_csrf(world: World) -> None:
    put_series("django", [5] * 30)
    client, token = csrf_client(world.alice)
    html = client.get(PAGE).content.decode()
    assert "Start tracking brand-new" in html
    no_token = client.post("/compare/track/", {"name": "brand-new", "packages": "django,brand-new"})
    assert no_token.status_code == 403
    assert not Package.objects.filter(name="brand-new").exists()
    response = client.post(
        "/compare/track/",
        {"name": "Brand_New", "packages": "django,brand-new", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert response["Location"] == "/compare/?packages=django,brand-new"
    package = Package.objects.get(name="brand-new")
    assert package.tracked and package.added_by == world.alice and package.next_attempt_at
    # The page now shows the progress box, polling the status endpoint.
    html = client.get(PAGE).content.decode()
    assert 'hx-get="/compare/status/brand-new/?packages=django,brand-new"' in html
    assert 'hx-trigger="every 2s"' in html


def test_daily_track_limit(world: World, settings: Any) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 1
    put_series("django", [5] * 30)
    Package.objects.create(name="already-today", added_by=world.alice, created_at=timezone.now())
    client, token = csrf_client(world.alice)
    response = client.post(
        "/compare/track/",
        {"name": "brand-new", "packages": "django,brand-new", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert not Package.objects.filter(name="brand-new").exists()
    texts = [m.message for m in get_messages(response.wsgi_request)]
    assert any("daily limit" in t for t in texts)


def test_track_rejects_an_invalid_name(world: World) -> None:
    client, token = csrf_client(world.alice)
    response = client.post("/compare/track/", {"name": "no good", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Package.objects.filter(name__contains="good").count() == 0


@pytest.mark.parametrize(
    ("state", "has_data", "status", "text", "refresh"),
    [
        (UpstreamState.NEW, False, 200, "Fetching", False),
        (UpstreamState.NOT_FOUND, False, 286, "is not on PyPI Stats", False),
        (UpstreamState.FAILING, False, 286, "next retry at", False),
        (UpstreamState.OK, True, 286, "has arrived", True),
    ],
)
def test_status_polling_stops_with_an_answer(
    client: Client, db: Any, state: str, has_data: bool, status: int, text: str, refresh: bool
) -> None:
    if has_data:
        put_series("pkg", [5] * 10)
    else:
        Package.objects.create(
            name="pkg",
            upstream_state=state,
            last_error="HTTP 503" if state == UpstreamState.FAILING else "",
            next_attempt_at=timezone.now(),
        )
    response = client.get("/compare/status/pkg/?packages=pkg", HTTP_HX_REQUEST="true")
    assert response.status_code == status
    assert text in response.content.decode()
    assert (response.get("HX-Refresh") == "true") is refresh
    # Without htmx the status URL is just the comparison.
    assert client.get("/compare/status/pkg/?packages=pkg")["Location"] == "/compare/?packages=pkg"


# --- save as watchlist -------------------------------------------------------------------------


def test_save_as_personal_watchlist(world: World) -> None:
    put_series("django", [5] * 30)
    client, token = csrf_client(world.alice)
    response = client.post(
        "/compare/save/",
        {"packages": "django,brand-new", "name": "Web frameworks", "csrfmiddlewaretoken": token},
    )
    watchlist = Watchlist.objects.get(name="Web frameworks")
    assert response.status_code == 302 and response["Location"] == f"/watchlists/{watchlist.uid}/"
    assert watchlist.owner_user == world.alice and watchlist.owner_team is None
    names = set(watchlist.entries.values_list("package__name", flat=True))
    assert names == {"django", "brand-new"}
    # Saving adds an untracked package through the watchlist service: it is tracked now.
    assert Package.objects.get(name="brand-new").tracked
    # The saved list opens as the same comparison (the "compare these" link).
    page = client.get(response["Location"]).content.decode()
    assert (
        "/compare/?packages=brand-new,django" in page
        or "/compare/?packages=django,brand-new" in page
    )


def test_save_as_team_watchlist(world: World) -> None:
    put_series("django", [5] * 30)
    client, token = csrf_client(world.bob)
    response = client.post(
        "/compare/save/",
        {
            "packages": "django",
            "name": "Team pick",
            "team": str(world.team.uid),
            "csrfmiddlewaretoken": token,
        },
    )
    watchlist = Watchlist.objects.get(name="Team pick")
    assert watchlist.owner_team == world.team and watchlist.owner_user is None
    assert response["Location"] == f"/watchlists/{watchlist.uid}/"


def test_save_for_a_team_one_is_not_in_is_refused(world: World) -> None:
    client, token = csrf_client(world.charlie)
    before = Watchlist.objects.count()
    response = client.post(
        "/compare/save/",
        {
            "packages": "django",
            "name": "Sneaky",
            "team": str(world.team.uid),
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/compare/?packages=django"
    assert Watchlist.objects.count() == before


def test_save_respects_the_list_limit(world: World, settings: Any) -> None:
    settings.WATCHLIST_MAX_PER_OWNER = 1  # alice already has a personal list
    client, token = csrf_client(world.alice)
    before = Watchlist.objects.count()
    response = client.post(
        "/compare/save/",
        {"packages": "django", "name": "One too many", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert Watchlist.objects.count() == before
    assert any("most allowed" in m.message for m in get_messages(response.wsgi_request))


def test_save_needs_sign_in_and_csrf(client: Client, world: World) -> None:
    before = Watchlist.objects.count()
    response = client.post("/compare/save/", {"packages": "django", "name": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(world.alice)
    assert signed_in.post("/compare/save/", {"packages": "django", "name": "x"}).status_code == 403
    assert Watchlist.objects.count() == before


def test_save_with_no_packages_is_refused(world: World) -> None:
    client, token = csrf_client(world.alice)
    before = Watchlist.objects.count()
    client.post("/compare/save/", {"packages": "", "name": "Empty", "csrfmiddlewaretoken": token})
    assert Watchlist.objects.count() == before


# --- a watchlist as a comparison ------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "expected"),
    [("alice", 302), ("bob", 302), ("charlie", 404), ("anonymous", 404)],
)
def test_watchlist_param_honours_access(world: World, who: str, expected: int) -> None:
    client = world.client_for(who)
    response = client.get(f"/compare/?watchlist={world.team_list.uid}&agg=day")
    assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == "/compare/?packages=requests&agg=day"


def test_watchlist_param_private_list_and_garbage(world: World) -> None:
    assert (
        world.client_for("bob").get(f"/compare/?watchlist={world.private_list.uid}").status_code
        == 404
    )
    assert world.client_for("alice").get("/compare/?watchlist=not-a-uuid").status_code == 404

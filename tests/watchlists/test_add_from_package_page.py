"""The package page's "add to watchlist" form and its POST endpoint."""

from __future__ import annotations

from django.test import Client

from tests.world import World
from watchlists.models import Watchlist

URL = "/watchlists/add-package/"
PAGE = "/packages/requests/"


def test_anonymous_visitors_get_no_form(client: Client, world: World) -> None:
    html = client.get(PAGE).content.decode()
    assert "Add to watchlist" not in html and URL not in html


def test_the_form_offers_exactly_the_lists_the_user_can_open(client: Client, world: World) -> None:
    client.force_login(world.bob)  # a member of alice's team
    html = client.get(PAGE).content.decode()
    assert "Add to watchlist" in html and f'action="{URL}"' in html
    assert str(world.team_list.uid) in html
    assert str(world.private_list.uid) not in html and str(world.other_list.uid) not in html


def test_a_user_without_lists_is_offered_to_create_one(client: Client, world: World) -> None:
    from tests.world import make_user

    client.force_login(make_user("dana"))
    html = client.get(PAGE).content.decode()
    # A form that POSTs (the URL answers GET with 405), not a link to it.
    assert "No watchlist yet" in html
    assert 'method="post" action="/watchlists/new/"' in html
    assert 'href="/watchlists/new/"' not in html
    assert 'name="package" value="requests"' in html


def test_creating_from_the_package_page_starts_the_list_with_the_package(
    client: Client, world: World
) -> None:
    from tests.world import make_user

    dana = make_user("dana")
    client.force_login(dana)
    response = client.post(
        "/watchlists/new/",
        {"name": "My packages", "owner": "me", "visibility": "private", "package": "Flask_Login"},
        follow=True,
    )
    assert response.status_code == 200
    watchlist = Watchlist.objects.get(owner_user=dana)
    assert watchlist.name == "My packages"
    assert list(watchlist.entries.values_list("package__name", flat=True)) == ["flask-login"]
    assert "Added: flask-login." in response.content.decode()


def test_creating_with_a_bad_package_name_still_creates_and_says_why(
    client: Client, world: World
) -> None:
    from tests.world import make_user

    dana = make_user("dana")
    client.force_login(dana)
    response = client.post(
        "/watchlists/new/",
        {"name": "Mine", "owner": "me", "visibility": "private", "package": "no such/name"},
        follow=True,
    )
    assert response.status_code == 200
    assert "not a valid package name" in response.content.decode()


def test_posting_adds_the_package_and_lands_on_the_watchlist(client: Client, world: World) -> None:
    client.force_login(world.bob)
    response = client.post(URL, {"watchlist": str(world.team_list.uid), "name": "Flask_Login"})
    assert response.status_code == 302
    assert response["Location"] == f"/watchlists/{world.team_list.uid}/"
    assert world.team_list.entries.filter(package__name="flask-login").exists()


def test_someone_elses_list_is_not_found(client: Client, world: World) -> None:
    client.force_login(world.bob)
    for uid in (world.private_list.uid, world.other_list.uid, "not-a-uuid", ""):
        response = client.post(URL, {"watchlist": str(uid), "name": "flask"})
        assert response.status_code == 404, uid
    assert not world.private_list.entries.filter(package__name="flask").exists()
    assert not world.other_list.entries.filter(package__name="flask").exists()


def test_an_invalid_name_is_refused_with_a_message(client: Client, world: World) -> None:
    client.force_login(world.alice)
    response = client.post(
        URL, {"watchlist": str(world.private_list.uid), "name": "not a name!"}, follow=True
    )
    assert response.status_code == 200
    assert world.private_list.entries.count() == 1  # only the world's "requests"


def test_it_is_a_post_with_csrf_and_needs_a_login(world: World) -> None:
    anonymous = Client()
    response = anonymous.post(URL, {"watchlist": str(world.team_list.uid), "name": "flask"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(world.alice)
    assert (
        strict.post(URL, {"watchlist": str(world.private_list.uid), "name": "flask"}).status_code
        == 403
    )
    assert strict.get(URL).status_code == 405
    assert not world.private_list.entries.filter(package__name="flask").exists()

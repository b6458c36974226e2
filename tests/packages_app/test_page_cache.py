"""Pages from cache (packages_app/page_cache.py, issue #17).

Packages are refreshed from the demo upstream into the store, as in production; the pages are
then asked through Django's whole stack. `X-Page-Cache` says whether a body came from the cache
(hit), was rendered and stored (miss) or was answered 304 (revalidated).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.cookie import CookieStorage
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoDbBlocker

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package
from packages_app.sync import services
from packages_app.sync.budget import FileStore, RequestBudget
from packages_app.sync.upstream import UpstreamClient
from tests.module_data import built_once, for_test
from tests.packages_app.golden import GOLDEN_TODAY
from tests.world import make_user
from watchlists.models import Visibility, Watchlist, WatchlistEntry

pytestmark = pytest.mark.django_db

A, B, C = "django", "requests", "flask"
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
CSRF_HEADER = re.compile(rb'"X-CSRFToken": "([^"]+)"')
NONCE = re.compile(rb'nonce="([^"]+)"')


def _refresh(client: UpstreamClient, name: str) -> Package:
    package = Package.objects.filter(name=name).first()
    if package is None:
        package, _ = services.package_track(name=name)
    result = services.refresh_package(package_id=package.pk, client=client)
    assert result.status == "ok" and not result.error, result.error
    return Package.objects.get(pk=package.pk)


@pytest.fixture(scope="module")
def _held_of_module(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[list[Package]]:
    """A, B and C refreshed from the demo upstream once per module (tests/module_data.py)."""
    budget = RequestBudget(FileStore(tmp_path_factory.mktemp("budget"), "page-cache"), [])
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as server:
        upstream = UpstreamClient(
            base_url=server.url, budget=budget, sleep=lambda _: None, random=lambda: 0.5
        )
        yield from built_once(
            django_db_blocker, lambda: [_refresh(upstream, name) for name in (A, B, C)]
        )


@pytest.fixture
def held(_held_of_module: list[Package], db: None, request: pytest.FixtureRequest) -> None:
    """A, B and C held as a refresh from the demo upstream leaves them (rolled back after)."""
    for_test(request, _held_of_module)


def _get(client: Client, url: str, **headers: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code in (200, 304), (url, response.status_code)
    return response


def _without_tokens(body: bytes) -> bytes:
    """The body with each request's CSRF token and CSP nonce blanked (its only bytes that
    change with every request)."""
    for pattern in (CSRF_INPUT, CSRF_HEADER, NONCE):
        body = pattern.sub(b"TOKEN", body)
    return body


PAGES = [
    f"/packages/{A}/",
    f"/packages/{A}/?range=90&agg=week",
    f"/compare/?packages={A},{B}",
    "/",
]


@pytest.mark.parametrize("url", PAGES)
def test_a_reader_gets_the_stored_page_then_a_304(held: None, url: str) -> None:
    reader = Client()
    first = _get(reader, url)
    assert first["X-Page-Cache"] == "miss"
    again = _get(reader, url)
    assert again["X-Page-Cache"] == "hit"
    assert _without_tokens(again.content) == _without_tokens(first.content)
    # What the view renders without the cache, byte for byte (tokens aside).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.PAGE_CACHE", False)
        direct = _get(reader, url)
    assert "X-Page-Cache" not in direct
    assert _without_tokens(direct.content) == _without_tokens(again.content)
    # The validators: a 304 for the same ETag, and for the date alone.
    assert again["Cache-Control"] == "private, no-cache"
    not_modified = _get(reader, url, if_none_match=again["ETag"])
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == again["ETag"]
    since = _get(reader, url, if_modified_since=again["Last-Modified"])
    assert since.status_code == 304


def test_each_reader_gets_their_own_csrf_token_and_it_works(held: None) -> None:
    url = f"/packages/{A}/"
    _get(Client(), url)  # stored by someone else
    reader = Client(enforce_csrf_checks=True)
    page = _get(reader, url)
    assert page["X-Page-Cache"] == "hit"
    token = CSRF_HEADER.search(page.content)
    assert token is not None
    assert b"pc-csrf-" not in page.content and b"<!--pc:" not in page.content
    # The token in the cached body is this reader's: a POST with it passes the CSRF check.
    user = make_user("reader")
    reader.force_login(user)
    page = _get(reader, url)
    posted = reader.post(
        reverse("watchlist_create"),
        {"name": "Mine", "package": A, "owner": "me", "visibility": "private"},
        headers={"x-csrftoken": CSRF_INPUT.findall(page.content)[0].decode()},
    )
    assert posted.status_code in (302, 303)
    assert Watchlist.objects.filter(name="Mine", owner_user=user).exists()


def test_a_signed_in_user_gets_the_same_body_with_their_own_header(held: None) -> None:
    url = f"/compare/?packages={A},{B}"
    anonymous = _get(Client(), url)
    assert anonymous["X-Page-Cache"] == "miss"
    assert b"Log in</a>" in anonymous.content and b"Save as watchlist" not in anonymous.content
    member = Client()
    member.force_login(make_user("carol"))
    page = _get(member, url)
    assert page["X-Page-Cache"] == "hit"  # the body stored for the anonymous reader
    assert b">carol</a>" in page.content and b"Log out" in page.content
    assert b"Save as watchlist" in page.content  # the compare page's own per-user part
    assert page["ETag"] != anonymous["ETag"]
    # The package page's "add to watchlist" form is hers too.
    package_page = _get(member, f"/packages/{A}/")
    assert b"No watchlist yet" in package_page.content
    assert b"No watchlist yet" not in _get(Client(), f"/packages/{A}/").content


def test_a_page_with_messages_is_never_a_304_and_shows_them(held: None, settings: Any) -> None:
    settings.MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
    url = f"/packages/{A}/"
    reader = Client()
    _get(reader, url)  # sets the CSRF cookie, part of the viewer's ETag
    tag = _get(reader, url)["ETag"]
    # A message waiting for the reader (as a redirect after a POST leaves one).
    storage = CookieStorage(reader.get(url).wsgi_request)
    storage.add(message_levels.SUCCESS, "Added to your list")
    response = reader.get(url)  # the storage's cookie is set on the response below
    storage.update(response)
    reader.cookies.update(response.cookies)
    page = reader.get(url, headers={"if-none-match": tag})
    assert page.status_code == 200 and b"Added to your list" in page.content
    assert "ETag" not in page
    assert _get(reader, url, if_none_match=tag).status_code == 304  # shown once, then gone


def test_a_refresh_invalidates_exactly_the_pages_and_answers_it_changes(
    held: None, demo: DemoUpstream, client_for: Callable[..., UpstreamClient]
) -> None:
    """A new day for A: every page and API answer reading A is new, the others are hits."""
    reader = Client()
    watch = Watchlist.objects.create(
        name="B only", owner_user=make_user("owner"), visibility=Visibility.PUBLIC,
        public_token="b-only-token",
    )  # fmt: skip
    WatchlistEntry.objects.create(watchlist=watch, package=Package.objects.get(name=B))
    reads_a = [f"/packages/{A}/", f"/compare/?packages={A},{B}", "/"]
    reads_not_a = [
        f"/packages/{B}/",
        f"/compare/?packages={B},{C}",
        "/watchlists/shared/b-only-token/",
    ]
    # The API's default window ends at the site's latest date, which A's new day moves for
    # every package (upstream's window does the same): B's answer there changes, rightly.
    # Over fixed dates it depends on B's own data only.
    api_a = f"/api/packages/{A}/python_minor"
    api_b = f"/api/packages/{B}/python_minor?start_date=2000-01-01&end_date=2100-01-01"
    before = {url: _get(reader, url) for url in [*reads_a, *reads_not_a]}
    api_before = {url: _get(reader, url) for url in (api_a, api_b)}
    assert all(r["X-Page-Cache"] == "miss" for r in before.values())
    assert all(_get(reader, url)["X-Page-Cache"] == "hit" for url in before)

    old_latest = Package.objects.get(name=A).latest_date
    demo.advance(1)  # a demo upstream like the module's (same today), one day later
    refreshed = _refresh(client_for(demo), A)
    assert refreshed.latest_date is not None and old_latest is not None
    assert refreshed.latest_date > old_latest

    for url in reads_a:
        after = _get(reader, url)
        assert after["X-Page-Cache"] == "miss", url
        assert after["ETag"] != before[url]["ETag"]
        assert _without_tokens(after.content) != _without_tokens(before[url].content), url
        # The client's old validator gets the new page, not a 304.
        assert _get(reader, url, if_none_match=before[url]["ETag"]).status_code == 200
    page_a = _get(reader, f"/packages/{A}/").content.decode()
    assert f'<dd><time datetime="{refreshed.latest_date:%Y-%m-%d}">' in page_a  # "Data as of"
    for url in reads_not_a:
        after = _get(reader, url)
        assert after["X-Page-Cache"] == "hit", url
        assert after["ETag"] == before[url]["ETag"]
        assert _without_tokens(after.content) == _without_tokens(before[url].content)

    # The API: A's answer is the new day's (and its old ETag is no longer a 304), B's is kept.
    new_a = _get(reader, api_a)
    assert new_a["ETag"] != api_before[api_a]["ETag"]
    assert refreshed.latest_date.isoformat().encode() in new_a.content
    assert old_latest.isoformat().encode() in api_before[api_a].content
    assert _get(reader, api_a, if_none_match=api_before[api_a]["ETag"]).status_code == 200
    assert _get(reader, api_b, if_none_match=api_before[api_b]["ETag"]).status_code == 304
    assert _get(reader, api_b).content == api_before[api_b].content


def test_pages_that_change_by_themselves_or_per_viewer_are_not_cached(
    held: None,
) -> None:
    reader = Client()
    # Bad options (a 400 listing them), a name to redirect, a package waiting for data.
    assert "X-Page-Cache" not in reader.get(f"/packages/{A}/?range=7")
    assert reader.get("/packages/Django/").status_code == 301
    services.package_track(name="waiting-pkg")
    waiting = reader.get("/packages/waiting-pkg/")
    assert waiting.status_code == 200 and "X-Page-Cache" not in waiting
    # A compare URL that is not canonical redirects; one with a package waiting renders.
    assert reader.get(f"/compare/?packages=Django,{B}").status_code == 302
    assert "X-Page-Cache" not in reader.get(f"/compare/?packages={A},waiting-pkg")


def test_a_revoked_public_list_is_a_404_not_a_cached_page(held: None) -> None:
    watch = Watchlist.objects.create(
        name="Shared", owner_user=make_user("sharer"), visibility=Visibility.PUBLIC,
        public_token="shared-token",
    )  # fmt: skip
    WatchlistEntry.objects.create(watchlist=watch, package=Package.objects.get(name=A))
    url = "/watchlists/shared/shared-token/"
    reader = Client()
    assert _get(reader, url)["X-Page-Cache"] == "miss"
    assert _get(reader, url)["X-Page-Cache"] == "hit"
    Watchlist.objects.filter(pk=watch.pk).update(visibility=Visibility.PRIVATE)
    assert reader.get(url).status_code == 404


def test_an_htmx_fragment_is_cached_apart_with_its_headers(held: None) -> None:
    url = f"/packages/{A}/?range=90&agg=week"
    reader = Client()
    full = _get(reader, url)
    fragment = _get(reader, url, hx_request="true")
    assert fragment["X-Page-Cache"] == "miss"  # not the full page's entry
    again = _get(reader, url, hx_request="true")
    assert again["X-Page-Cache"] == "hit"
    assert len(again.content) < len(full.content) and b"<html" not in again.content
    assert again.content == fragment.content
    assert again["HX-Push-Url"] == fragment["HX-Push-Url"] == f"/packages/{A}/?range=90&agg=week"
    assert "HX-Request" in again["Vary"]


def test_turning_the_clickhouse_source_on_is_a_new_page(held: None, settings: Any) -> None:
    """The page cache outlives a restart (Redis): a page stored with ClickHouse off has no
    breakdown sections, so a deployment that turns the source on must not get it back."""
    settings.CLICKHOUSE_URL = ""
    reader = Client()
    off = _get(reader, f"/packages/{A}/")
    assert off["X-Page-Cache"] == "miss" and b"/breakdowns/versions/" not in off.content
    assert _get(reader, f"/packages/{A}/")["X-Page-Cache"] == "hit"
    settings.CLICKHOUSE_URL = "http://127.0.0.1:9"
    on = _get(reader, f"/packages/{A}/")
    assert on["X-Page-Cache"] == "miss"
    assert f"/packages/{A}/breakdowns/versions/".encode() in on.content
    assert on["ETag"] != off["ETag"]

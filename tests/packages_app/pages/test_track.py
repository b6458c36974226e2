from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django import Settings

from packages_app.models import Package, UpstreamState
from packages_app.sync import selectors as sync_selectors
from tests.packages_app.pages.package_data import make_package

pytestmark = pytest.mark.django_db

D = dt.date
HX = {"HX-Request": "true"}


@pytest.fixture
def alice() -> User:
    return get_user_model().objects.create_user("alice", password="correct-horse-1")


def test_untracked_valid_name_is_a_200_page_saying_so(client: Client) -> None:
    response = client.get("/packages/never-seen/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "never-seen is not tracked here" in body
    assert (
        "Log in to start tracking it" in body
        and "/accounts/login/?next=/packages/never-seen/" in body
    )
    assert not Package.objects.exists()  # GET never tracks


def test_signed_in_user_sees_the_track_button(client: Client, alice: User) -> None:
    client.force_login(alice)
    body = client.get("/packages/never-seen/").content.decode()
    assert 'action="/packages/never-seen/track/"' in body and "Start tracking never-seen" in body
    assert not Package.objects.exists()


def test_anonymous_post_redirects_to_login_and_tracks_nothing(client: Client) -> None:
    response = client.post("/packages/never-seen/track/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Package.objects.exists()


def test_get_on_the_track_url_is_refused(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert client.get("/packages/never-seen/track/").status_code == 405
    assert not Package.objects.exists()


def test_post_without_csrf_token_is_refused(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/packages/never-seen/track/").status_code == 403
    assert not Package.objects.exists()


def test_signed_in_post_with_csrf_starts_tracking(alice: User) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get("/packages/Never_Seen/", follow=True)
    token = page.context["csrf_token"]
    response = client.post("/packages/never-seen/track/", {"csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"] == "/packages/never-seen/"
    package = Package.objects.get()
    assert (package.name, package.tracked, package.added_by) == ("never-seen", True, alice)
    assert package.next_attempt_at is not None
    followed = client.get("/packages/never-seen/").content.decode()
    # The page now polls the status fragment every 2 s.
    assert 'hx-get="/packages/never-seen/status/" hx-trigger="every 2s"' in followed
    assert "Tracking never-seen" in followed  # the success message


def test_invalid_names_are_404(client: Client, alice: User) -> None:
    client.force_login(alice)
    assert client.get("/packages/-nope-/").status_code == 404
    assert client.post("/packages/-nope-/track/").status_code == 404


def test_daily_limit(client: Client, alice: User, settings: Settings) -> None:
    settings.TRACK_LIMIT_PER_USER_PER_DAY = 2
    client.force_login(alice)
    client.post("/packages/one/track/")
    client.post("/packages/two/track/")
    assert sync_selectors.packages_started_by_user_today(alice) == 2
    response = client.post("/packages/three/track/", follow=True)
    assert not Package.objects.filter(name="three").exists()
    assert "the daily limit" in response.content.decode()
    # Tracking a package that already exists is not a new start and is allowed.
    make_package("existing", first=None, latest=None)
    client.post("/packages/existing/track/")
    assert Package.objects.get(name="existing").tracked


def test_the_daily_count_resets_at_midnight_utc(alice: User) -> None:
    with time_machine.travel(dt.datetime(2024, 5, 1, 23, 50, tzinfo=dt.UTC), tick=False):
        Package.objects.create(name="late-night", added_by=alice, created_at=timezone.now())
        assert sync_selectors.packages_started_by_user_today(alice) == 1
    with time_machine.travel(dt.datetime(2024, 5, 2, 0, 10, tzinfo=dt.UTC), tick=False):
        assert sync_selectors.packages_started_by_user_today(alice) == 0
    assert sync_selectors.packages_started_by_user_today(None) == 0


def test_status_keeps_polling_while_waiting(client: Client) -> None:
    make_package("pending", first=None, latest=None)
    response = client.get("/packages/pending/status/", headers=HX)
    assert response.status_code == 200
    assert b'hx-trigger="every 2s"' in response.content and b"Fetching pending" in response.content
    assert "HX-Request" in response["Vary"]


def test_status_stops_when_the_first_refresh_lands(client: Client) -> None:
    package = make_package("pending", first=None, latest=None)
    Package.objects.filter(pk=package.pk).update(
        first_date=D(2024, 1, 1), latest_date=D(2024, 1, 2), upstream_state=UpstreamState.OK
    )
    response = client.get("/packages/pending/status/", headers=HX)
    assert response.status_code == 286  # htmx: stop polling
    assert response["HX-Refresh"] == "true"
    assert b"every 2s" not in response.content


def test_status_stops_on_not_found(client: Client) -> None:
    make_package("nope-pkg", first=None, latest=None, upstream_state=UpstreamState.NOT_FOUND)
    response = client.get("/packages/nope-pkg/status/", headers=HX)
    assert response.status_code == 286
    assert b"not on PyPI Stats" in response.content and b"every 2s" not in response.content


def test_status_stops_on_failure_with_error_and_retry_time(client: Client) -> None:
    retry = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)
    make_package(
        "broken",
        first=None,
        latest=None,
        upstream_state=UpstreamState.FAILING,
        last_error="HTTP 502 from upstream",
        next_attempt_at=retry,
    )
    response = client.get("/packages/broken/status/", headers=HX)
    assert response.status_code == 286
    body = response.content.decode()
    assert "Failing: HTTP 502 from upstream, next retry at" in body and "1 May 2024 12:30" in body
    # The full page says the same without polling.
    assert "HTTP 502 from upstream" in client.get("/packages/broken/").content.decode()


def test_status_without_htmx_goes_to_the_page(client: Client) -> None:
    response = client.get("/packages/whatever/status/")
    assert response.status_code == 302 and response["Location"] == "/packages/whatever/"


@pytest.mark.parametrize("debug", [True, False])
def test_an_unreachable_upstream_is_named_not_shown_as_a_connect_error(
    client: Client, settings: Settings, debug: bool
) -> None:
    """Zero configuration, no network (issue #13): the page names the upstream's host and, on
    a developer's machine, suggests `make demo`, instead of httpx's ConnectError."""
    settings.DEBUG = debug
    settings.PYPISTATS_API_URL = "https://pypistats.org/api"
    make_package(
        "offline-pkg",
        first=None,
        latest=None,
        upstream_state=UpstreamState.FAILING,
        last_error=(
            "UpstreamFailure: overall: transport error (ConnectError: [Errno -3] "
            "Temporary failure in name resolution)"
        ),
    )
    for body in (
        client.get("/packages/offline-pkg/status/", headers=HX).content.decode(),
        client.get("/packages/offline-pkg/").content.decode(),
        client.get("/compare/?packages=offline-pkg").content.decode(),
    ):
        assert "ConnectError" not in body and "Errno" not in body
        assert "could not reach the upstream" in body
        assert "pypistats.org" in body
        assert ("make demo" in body) is debug

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Category, DownloadMonth, Metric, Package, RefreshRun
from packages_app.sync import services
from tests.stored_points import Point, store

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:packages_app_package_changelist")
ADD = reverse("admin:packages_app_package_add")


def with_points(name: str, days: int) -> Package:
    package, _ = services.package_track(name=name)
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="with_mirrors")
    store(
        Point(
            package=package,
            category=category,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            downloads=i,
        )
        for i in range(days)
    )
    return package


def changelist_queries(admin_client: Client, count: int) -> int:
    for index in range(count):
        with_points(f"pkg-{count}-{index}", 3)
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    Package.objects.all().delete()
    return len(queries)


def test_the_list_shows_points_held_without_n_plus_one(admin_client: Client) -> None:
    assert changelist_queries(admin_client, 2) == changelist_queries(admin_client, 8)
    with_points("django", 5)
    with_points("flask", 2)
    response = admin_client.get(CHANGELIST)
    content = response.content.decode()
    for column in (
        "points held",
        "latest date held",
        "history since",
        "last refreshed at",
        "last error",
        "upstream state",
    ):
        assert column.lower() in content.lower(), column
    rows = {p.name: p.points_count for p in response.context["cl"].result_list}
    assert rows == {"django": 5, "flask": 2}


def test_search_and_filters(admin_client: Client) -> None:
    services.package_track(name="requests")
    services.package_track(name="requests-oauthlib")
    Package.objects.create(name="paused-pkg", paused=True, upstream_state="failing")

    def names(response: TestResponse) -> list[str]:
        return [p.name for p in response.context["cl"].result_list]

    assert names(admin_client.get(CHANGELIST, {"q": "oauth"})) == ["requests-oauthlib"]
    assert names(admin_client.get(CHANGELIST, {"paused__exact": "1"})) == ["paused-pkg"]
    assert names(admin_client.get(CHANGELIST, {"upstream_state__exact": "failing"})) == [
        "paused-pkg"
    ]
    assert names(
        admin_client.get(CHANGELIST, {"tracked__exact": "1", "upstream_state__exact": "new"})
    ) == [
        "requests",
        "requests-oauthlib",
    ]


def test_add_validates_and_canonicalises(admin_client: Client) -> None:
    response = admin_client.post(ADD, {"name": "Zope.Interface"})
    assert response.status_code == 302
    package = Package.objects.get()
    assert package.name == "zope-interface" and package.tracked
    assert package.next_attempt_at is not None  # due at once
    duplicate = admin_client.post(ADD, {"name": "zope_interface"})
    assert duplicate.status_code == 200
    assert "zope-interface is already tracked." in duplicate.content.decode()
    for bad in ("foo/bar", "-x", "ü", "a b"):
        invalid = admin_client.post(ADD, {"name": bad})
        assert invalid.status_code == 200
        assert "is not a valid PyPI project name" in invalid.content.decode(), bad
    too_long = admin_client.post(ADD, {"name": "a" * 129})
    assert "at most 128 characters" in too_long.content.decode()
    assert Package.objects.count() == 1


def test_pause_resume_and_refresh_now(
    admin_client: Client,
    upstream_settings: Settings,
    eager_celery: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    demo: DemoUpstream,
) -> None:
    package, _ = services.package_track(name="httpx")
    action = {"_selected_action": [package.pk]}
    admin_client.post(CHANGELIST, {**action, "action": "pause"})
    package.refresh_from_db()
    assert package.paused
    admin_client.post(CHANGELIST, {**action, "action": "resume"})
    package.refresh_from_db()
    assert not package.paused and package.next_attempt_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(CHANGELIST, {**action, "action": "refresh_now"})
    assert response.status_code == 302
    package.refresh_from_db()
    assert package.upstream_state == "ok" and package.latest_date is not None
    assert RefreshRun.objects.filter(package=package, status="ok").count() == 1
    change = admin_client.get(reverse("admin:packages_app_package_change", args=[package.pk]))
    assert change.status_code == 200
    assert "All refreshes" in change.content.decode()


def test_actions_need_post_and_staff(client: Client, admin_client: Client) -> None:
    package, _ = services.package_track(name="six")
    pause: dict[str, str | list[int]] = {"_selected_action": [package.pk], "action": "pause"}
    # GET never runs an action.
    admin_client.get(CHANGELIST, pause)
    package.refresh_from_db()
    assert not package.paused
    anonymous = client.post(CHANGELIST, pause)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    package.refresh_from_db()
    assert not package.paused


def test_refresh_history_is_read_only(admin_client: Client) -> None:
    package, _ = services.package_track(name="idna")
    run = RefreshRun.objects.create(package=package, status="failed", error="HTTP 500")
    listing = admin_client.get(reverse("admin:packages_app_refreshrun_changelist"))
    assert listing.status_code == 200 and "HTTP 500" in listing.content.decode()
    assert admin_client.get(reverse("admin:packages_app_refreshrun_add")).status_code == 403
    detail = admin_client.post(
        reverse("admin:packages_app_refreshrun_change", args=[run.pk]), {"error": "x"}
    )
    assert detail.status_code == 403
    run.refresh_from_db()
    assert run.error == "HTTP 500"


def test_download_points_are_not_registered() -> None:
    assert DownloadMonth not in admin.site._registry


def _change(package: Package) -> str:
    return reverse("admin:packages_app_package_change", args=[package.pk])


def test_the_change_page_has_refresh_and_pause_buttons(
    admin_client: Client,
    upstream_settings: Settings,
    eager_celery: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    demo: DemoUpstream,
) -> None:
    package, _ = services.package_track(name="httpx")
    page = admin_client.get(_change(package)).content.decode()
    refresh = reverse("admin:packages_app_package_refresh", args=[package.pk])
    pause = reverse("admin:packages_app_package_pause", args=[package.pk])
    assert f'action="{refresh}"' in page and "Refresh now" in page
    assert f'action="{pause}"' in page and "Pause refreshing" in page
    # GET does nothing; POST pauses, and the button then offers to resume.
    assert admin_client.get(pause).status_code == 405
    response = admin_client.post(pause)
    assert response.status_code == 302 and response["Location"] == _change(package)
    package.refresh_from_db()
    assert package.paused
    assert "Resume refreshing" in admin_client.get(_change(package)).content.decode()
    admin_client.post(pause, {"resume": "1"})
    package.refresh_from_db()
    assert not package.paused and package.next_attempt_at is not None
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(refresh).status_code == 302
    package.refresh_from_db()
    assert package.upstream_state == "ok" and package.latest_date is not None


def test_the_buttons_need_staff_and_a_real_package(client: Client, admin_client: Client) -> None:
    package, _ = services.package_track(name="six")
    pause = reverse("admin:packages_app_package_pause", args=[package.pk])
    assert client.post(pause).status_code == 302  # to the admin login
    package.refresh_from_db()
    assert not package.paused
    missing = reverse("admin:packages_app_package_pause", args=[package.pk + 999])
    assert admin_client.post(missing).status_code == 404


def test_recent_downloads_and_the_last_error_read_as_text(admin_client: Client) -> None:
    from packages_app.models import RecentDownloads

    package, _ = services.package_track(name="idna")
    RecentDownloads.objects.create(
        package=package, last_day=1234, last_week=56789, last_month=1234567
    )
    error = "GET https://pypistats.org/api/packages/idna/overall?mirrors=true: " + "x" * 300
    Package.objects.filter(pk=package.pk).update(last_error=error)
    page = admin_client.get(_change(package)).content.decode()
    assert "56,789" in page and "1,234,567" in page
    assert f"{package.pk}: 1234/56789/1234567" not in page  # not the object's old str()
    assert '<pre class="last-error">' + error + "</pre>" in page
    assert "css/admin.css" in page


def test_a_paused_package_says_so_on_its_public_page(client: Client) -> None:
    from tests.world import add_series

    package, _ = services.package_track(name="attrs")
    add_series(package, dt.date(2026, 11, 22), [10] * 20)
    assert "paused by an operator" not in client.get("/packages/attrs/").content.decode()
    Package.objects.filter(pk=package.pk).update(paused=True)
    html = client.get("/packages/attrs/").content.decode()
    assert "paused by an operator" in html

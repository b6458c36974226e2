from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from packages_app.models import Category, Metric, Package
from packages_app.pages import selectors
from tests.isolation import clear_cache
from tests.packages_app.pages.package_data import make_package
from tests.stored_points import Point, store

pytestmark = pytest.mark.django_db

D = dt.date
HX = {"HX-Request": "true"}


def test_home_lists_tracked_packages_with_last_week(client: Client) -> None:
    make_package("requests", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 98765, 3))
    make_package("waiting-one", first=None, latest=None)
    make_package("gone", first=D(2024, 1, 1), latest=D(2024, 1, 31), tracked=False)
    body = client.get("/").content.decode()
    assert 'href="/packages/requests/"' in body and "98,765" in body
    assert "waiting-one" in body and "Waiting for first refresh" in body
    assert "/packages/gone/" not in body
    assert 'hx-get="/search/"' in body
    assert 'hx-trigger="input changed delay:200ms, search"' in body


def test_home_runs_a_constant_number_of_queries(client: Client) -> None:
    make_package("a", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    with CaptureQueriesContext(connection) as few:
        client.get("/")
    for i in range(8):
        make_package(f"pkg-{i}", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    clear_cache()
    with CaptureQueriesContext(connection) as many:
        client.get("/")
    assert len(few.captured_queries) == len(many.captured_queries)


def _set_week(package_name: str, monday: dt.date, per_day: int) -> None:
    category = Category.objects.get(metric=Metric.OVERALL, name="without_mirrors")
    package = Package.objects.get(name=package_name)
    store(Point(package, category, monday + dt.timedelta(days=i), per_day) for i in range(7))


@time_machine.travel(dt.datetime(2024, 3, 20, 10, tzinfo=dt.UTC), tick=False)  # a Wednesday
def test_movers_compare_the_last_two_complete_weeks(client: Client) -> None:
    for name in ("rising", "falling", "steady", "__all__"):
        make_package(name, first=D(2024, 2, 1), latest=D(2024, 3, 19))
    make_package("too-new", first=D(2024, 3, 8), latest=D(2024, 3, 19))
    make_package("late", first=D(2024, 2, 1), latest=D(2024, 3, 14))  # misses Friday..Sunday
    # Last complete week: Mon 11 .. Sun 17 March; the one before: 4 .. 10 March.
    _set_week("rising", D(2024, 3, 4), 100)
    _set_week("rising", D(2024, 3, 11), 300)
    _set_week("falling", D(2024, 3, 4), 1000)
    _set_week("falling", D(2024, 3, 11), 500)
    _set_week("steady", D(2024, 3, 4), 50)
    _set_week("steady", D(2024, 3, 11), 50)
    _set_week("__all__", D(2024, 3, 4), 10)
    _set_week("__all__", D(2024, 3, 11), 10**6)
    # The current, incomplete week (from Mon 18 March) must not count.
    _set_week("steady", D(2024, 3, 18), 10**6)

    movers = selectors.weekly_movers(as_of=D(2024, 3, 19))
    assert movers is not None
    assert (movers.week_start, movers.week_end) == (D(2024, 3, 11), D(2024, 3, 17))
    rows = [(m.name, m.last_week, m.previous_week, m.change, m.change_pct) for m in movers.rows]
    assert rows == [
        ("falling", 3500, 7000, -3500, -50.0),
        ("rising", 2100, 700, 1400, 200.0),
        ("steady", 350, 350, 0, 0.0),
    ]
    body = client.get("/").content.decode()
    assert "Biggest movers" in body and "+1,400" in body
    assert '<span class="up">▲ 200%</span>' in body and '<span class="down">▼ 50%</span>' in body
    # One movers table, its weeks named by their dates rather than "last week".
    assert body.count('<table class="movers">') == 1 and "By percentage" not in body
    assert "4 Mar–10 Mar" in body and "11 Mar–17 Mar" in body
    movers_table = body.split('<table class="movers">')[1].split("</table>")[0]
    assert "Last week" not in movers_table
    # A change of zero is no green arrow.
    steady = movers_table.split('href="/packages/steady/"')[1].split("</tr>")[0]
    assert '<span class="muted">0%</span>' in steady and "▲" not in steady


@time_machine.travel(dt.datetime(2024, 3, 18, 0, 30, tzinfo=dt.UTC), tick=False)  # Monday night
def test_movers_wait_for_the_week_to_be_complete_upstream(client: Client) -> None:
    make_package("pkg", first=D(2024, 2, 1), latest=D(2024, 3, 16))  # Sunday not yet held
    movers = selectors.weekly_movers(as_of=D(2024, 3, 16))
    assert movers is not None and movers.week_end == D(2024, 3, 10)
    assert [m.name for m in movers.rows] == ["pkg"]


def test_movers_use_one_query() -> None:
    make_package("pkg", first=D(2024, 2, 1), latest=D(2024, 3, 16))
    with CaptureQueriesContext(connection) as ctx:
        selectors.weekly_movers(as_of=D(2024, 3, 16))
    assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Django", "django"),
        ("zope_interface", "zope-interface"),
        ("zope.interface", "zope-interface"),
    ],
)
def test_suggestions_partial_finds_every_spelling(
    client: Client, query: str, expected: int
) -> None:
    make_package("django", first=None, latest=None)
    make_package("zope-interface", first=None, latest=None)
    response = client.get("/search/", {"q": query}, headers=HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert f'href="/packages/{expected}/"' in body
    assert "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_header_search_redirects_on_an_exact_match(client: Client) -> None:
    make_package("zope-interface", first=None, latest=None)
    response = client.get("/search/", {"q": "Zope.Interface"})
    assert response.status_code == 302 and response["Location"] == "/packages/zope-interface/"
    # The home page's ?q= does the same (older links, the form without JS).
    assert client.get("/", {"q": "zope_interface"})["Location"] == "/packages/zope-interface/"


def test_search_page_lists_matches_without_an_exact_one(client: Client) -> None:
    make_package("zope-interface", first=None, latest=None)
    response = client.get("/search/", {"q": "zope"})
    assert response.status_code == 200 and b"/packages/zope-interface/" in response.content


def test_untracked_valid_name_offers_tracking_to_signed_in_users_only(client: Client) -> None:
    anonymous = client.get("/search/", {"q": "brand_new"}, headers=HX).content.decode()
    assert "log in</a> to track it" in anonymous and 'method="post"' not in anonymous
    user = get_user_model().objects.create_user("alice", password="x" * 12)
    client.force_login(user)
    signed_in = client.get("/search/", {"q": "brand_new"}, headers=HX).content.decode()
    assert 'action="/packages/brand-new/track/"' in signed_in and 'method="post"' in signed_in
    assert "csrfmiddlewaretoken" in signed_in


def test_invalid_query_says_so(client: Client) -> None:
    body = client.get("/search/", {"q": "no way!"}, headers=HX).content.decode()
    assert "is not a valid package name" in body


def test_last_week_is_said_where_used_and_all_of_pypi_is_named(client: Client) -> None:
    make_package("__all__", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 2, 3))
    make_package("requests", first=D(2024, 1, 1), latest=D(2024, 1, 31), recent=(1, 98765, 3))
    body = client.get("/").content.decode()
    tracked = body.split("<h2>Tracked packages</h2>")[1]
    assert "the 7 days ending on each package's latest day held" in tracked
    assert '<a class="" href="/packages/__all__/">All of PyPI</a>' in tracked
    assert ">__all__<" not in body

"""The JSON API and the store: cached bytes keyed by data_version, refreshes during reads,
a cache that is down, unknown packages (never an upstream call) and bad input (never a 500)."""

from __future__ import annotations

import datetime as dt
import string
from urllib.parse import quote

import httpx
import pytest
import respx
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pytest_django import Settings

from packages_app.api import cache as api_cache
from packages_app.api import selectors as api_selectors
from packages_app.models import Category, Metric, Package, RecentDownloads
from tests.packages_app import golden
from tests.stored_points import Point, overwrite_all, store

URL = "/api/packages/demo-pkg/python_minor"
# URL's normalised params: no filter, and the default window, which ends at the ETL date.
URL_PARAMS = f"w={golden.D}"
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 1: every cache call fails at once.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}


def _refresh(package: Package, downloads: int) -> None:
    """What a committed refresh does: new values for every point, data_version bumped."""
    overwrite_all(package, downloads)
    golden.bump(package)


# --- Cached bytes ----------------------------------------------------------------------


def test_second_read_comes_from_the_cache_with_one_query(
    seeded: dict[str, Package], client: Client
) -> None:
    first = client.get(URL)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(URL)
    assert second.content == first.content
    api_sql = [q["sql"] for q in queries.captured_queries if "packages_app" in q["sql"]]
    assert len(api_sql) == 1 and "data_version" in api_sql[0]


def test_a_miss_reads_the_series_in_one_statement(
    seeded: dict[str, Package], client: Client
) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get(URL)
    api_sql = [q["sql"] for q in queries.captured_queries if "packages_app" in q["sql"]]
    assert len(api_sql) == 2  # the version, then the answer (with its version) in one SELECT


def test_recent_is_one_statement(seeded: dict[str, Package], client: Client) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/packages/demo-pkg/recent")
    assert response.status_code == 200
    api_sql = [q["sql"] for q in queries.captured_queries if "packages_app" in q["sql"]]
    assert len(api_sql) == 1 and "recentdownloads" in api_sql[0]


def test_cached_answer_is_keyed_by_data_version(seeded: dict[str, Package], client: Client) -> None:
    package = seeded["demo-pkg"]
    before = client.get(URL).content
    identity = api_cache.answer_id("demo-pkg", package.data_version, "python_minor", URL_PARAMS)
    assert api_cache.get(identity) == (200, before)


def test_refresh_between_reads_gives_a_fully_new_answer(
    seeded: dict[str, Package], client: Client
) -> None:
    package = seeded["demo-pkg"]
    before = client.get(URL)
    assert client.get(URL).content == before.content  # served from the cache
    _refresh(package, 7)
    after = client.get(URL)
    assert after["ETag"] != before["ETag"]
    data = after.json()["data"]
    assert data and {row["downloads"] for row in data} == {7}


def test_refresh_committing_between_version_and_series_reads(
    seeded: dict[str, Package], client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version read says v1, then a refresh commits v2 before the series is read: the
    answer is v2 entirely (one statement), labelled and cached as v2, never under v1."""
    package = seeded["demo-pkg"]
    stale_meta = api_selectors.package_meta("demo-pkg")
    assert stale_meta is not None
    _refresh(package, 3)
    monkeypatch.setattr(api_selectors, "package_meta", lambda name: stale_meta)
    response = client.get(URL)
    assert {row["downloads"] for row in response.json()["data"]} == {3}
    v2 = api_cache.answer_id("demo-pkg", package.data_version, "python_minor", URL_PARAMS)
    v1 = api_cache.answer_id("demo-pkg", stale_meta.data_version, "python_minor", URL_PARAMS)
    assert response["ETag"] == api_cache.etag(v2)
    assert api_cache.get(v2) == (200, response.content)
    assert api_cache.get(v1) is None


def test_a_points_change_without_a_version_bump_is_not_served_as_new(
    seeded: dict[str, Package], client: Client
) -> None:
    """The contract is the version: until a refresh commits its bump, readers keep the old bytes."""
    before = client.get(URL).content
    overwrite_all(seeded["demo-pkg"], 1)
    assert client.get(URL).content == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refresh_on_postgres_never_mixes(client: Client) -> None:
    """A refresh transaction commits while another connection reads: every answer is all
    before or all after."""
    import threading

    from django.db import connections, transaction

    golden.load_seed()
    package = Package.objects.get(name="demo-pkg")
    _refresh(package, 0)  # a uniform starting state: every point holds the same value
    stop = threading.Event()

    def refresher() -> None:
        try:
            for value in range(1, 60):
                with transaction.atomic():
                    overwrite_all(package, value)
                    Package.objects.filter(pk=package.pk).update(data_version=value + 100)
        finally:
            connections.close_all()
            stop.set()

    thread = threading.Thread(target=refresher)
    thread.start()
    seen = 0
    while not stop.is_set() or seen < 5:
        rows = client.get(URL).json()["data"]
        assert len({row["downloads"] for row in rows}) == 1, rows
        seen += 1
        if seen > 500:
            break
    thread.join()


# --- A cache that is down ------------------------------------------------------------------


def test_cache_down_means_same_bytes_not_errors(
    seeded: dict[str, Package], client: Client, settings: Settings
) -> None:
    expected = {t: client.get(t).content for t in (URL, "/api/packages/demo-pkg/recent")}
    settings.CACHES = DEAD_REDIS
    settings.REDIS_URL = DEAD_REDIS["default"]["LOCATION"]  # the API's own client too
    for target, body in expected.items():
        for _ in range(2):
            response = client.get(target)
            assert response.status_code == 200
            assert response.content == body
    # Rate limiting cannot count: the request goes through, unlimited.
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    assert client.get(URL, headers={"If-None-Match": client.get(URL)["ETag"]}).status_code == 304


# --- Unknown packages --------------------------------------------------------------------


@pytest.mark.parametrize("track", [False, True])
def test_unknown_package_answers_as_upstream_without_calling_it(
    db: None, client: Client, settings: Settings, track: bool
) -> None:
    settings.API_TRACK_UNKNOWN_PACKAGES = track
    with respx.mock(assert_all_called=False) as upstream:
        route = upstream.route().mock(return_value=httpx.Response(500))
        assert client.get("/api/packages/New_Thing/recent").status_code == 404
        assert client.get("/api/packages/New_Thing/overall").status_code == 404
        for endpoint in ("python_major", "python_minor", "system"):
            response = client.get(f"/api/packages/New_Thing/{endpoint}")
            assert response.status_code == 200
            assert response.json() == {
                "data": [],
                "package": "new-thing",
                "type": f"{endpoint}_downloads",
            }
        assert not route.called
    package = Package.objects.filter(name="new-thing").first()
    if track:
        assert package is not None and package.tracked and package.next_attempt_at is not None
    else:
        assert package is None


def test_known_package_without_points(db: None, client: Client) -> None:
    Package.objects.create(name="fresh", data_version=0)
    assert client.get("/api/packages/fresh/recent").status_code == 404
    assert client.get("/api/packages/fresh/overall").status_code == 404
    assert client.get("/api/packages/fresh/system").json()["data"] == []


# --- Bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/api/packages/" + "a" * 129 + "/recent",
        "/api/packages/../recent",
        "/api/packages/.../overall",
        "/api/packages/foo%2Fbar/system",
        "/api/packages/foo%00bar/system",
        "/api/packages/%C3%BC/recent",
        "/api/packages/-lead/recent",
        "/api/packages/trail-/recent",
        "/api/packages/a b/recent",
        "/api/packages/demo-pkg/downloads",
        "/api/packages/demo-pkg/recent/",
        "/api/packages/demo-pkg",
        "/api/packages/",
        "/api/nothing",
        "/api/packages//recent",
    ],
)
def test_bad_names_and_paths_are_text_404(
    seeded: dict[str, Package], client: Client, target: str
) -> None:
    response = client.get(target)
    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == b"404"


def test_128_characters_is_still_a_name(seeded: dict[str, Package], client: Client) -> None:
    assert client.get("/api/packages/" + "a" * 128 + "/system").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "version=%00",
        "version=" + "9" * 5000,
        "version=%FF%FE",
        "os=%F0%9F%90%8D",
        "os=lin'ux;--",
        "start_date=%00",
        "whatever=1&&&=&",
    ],
)
def test_odd_parameters_never_500(seeded: dict[str, Package], client: Client, query: str) -> None:
    for endpoint in ("python_major", "system", "overall", "recent"):
        response = client.get(f"/api/packages/demo-pkg/{endpoint}?{query}")
        assert response.status_code < 500


NAME_CHARS = string.ascii_letters + string.digits + "-_.~%/ \\'\"<>?#&=+ü\x00\n"


@hsettings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.text(alphabet=NAME_CHARS, min_size=0, max_size=140) | st.text(max_size=20),
    endpoint=st.sampled_from(
        ["recent", "overall", "python_major", "python_minor", "system", "other", "recent/"]
    ),
    params=st.lists(
        st.tuples(
            st.sampled_from(["period", "mirrors", "version", "os", "start_date", "end_date", "x"]),
            st.text(max_size=12) | st.dates().map(str),
        ),
        max_size=4,
    ),
)
def test_property_never_5xx(
    seeded: dict[str, Package],
    client: Client,
    name: str,
    endpoint: str,
    params: list[tuple[str, str]],
) -> None:
    query = "&".join(f"{quote(k)}={quote(v)}" for k, v in params)
    target = f"/api/packages/{quote(name, safe='')}/{endpoint}" + (f"?{query}" if query else "")
    with respx.mock(assert_all_called=False) as upstream:
        route = upstream.route().mock(return_value=httpx.Response(500))
        response = client.get(target)
        assert not route.called
    assert response.status_code in (200, 400, 404), (target, response.status_code)
    if response.status_code != 200:
        assert response["Content-Type"] == "text/html; charset=utf-8"


def test_categories_are_read_by_name_not_id(seeded: dict[str, Package], client: Client) -> None:
    """A category created after the first answer (a new Python version) appears after a refresh."""
    client.get(URL)
    category = Category.objects.create(metric=Metric.PYTHON_MINOR, name="3.15")
    store([Point(seeded["demo-pkg"], category, golden.D, 3)])
    golden.bump(seeded["demo-pkg"])
    assert {"category": "3.15", "date": "2026-11-23", "downloads": 3} in client.get(URL).json()[
        "data"
    ]


# --- The meta every answer is cached under, read whole -----------------------------------------


@pytest.mark.django_db
def test_meta_and_recent_carry_the_package_row_and_the_etl_date() -> None:
    refreshed = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.UTC)
    held = Package.objects.create(
        name="meta-pkg",
        data_version=7,
        last_refreshed_at=refreshed,
        latest_date=dt.date(2026, 11, 20),
    )
    # Another package holds a later day: the ETL date is the latest of any package.
    Package.objects.create(name="newer-pkg", data_version=2, latest_date=dt.date(2026, 11, 23))
    RecentDownloads.objects.create(package=held, last_day=11, last_week=222, last_month=3333)
    meta = api_selectors.PackageMeta(held.pk, 7, refreshed, dt.date(2026, 11, 23))
    assert api_selectors.package_meta("meta-pkg") == meta
    assert api_selectors.package_recent("meta-pkg") == api_selectors.Recent(meta, 11, 222, 3333)
    # Never refreshed and no recent row: None where there is nothing.
    bare = Package.objects.create(name="bare-pkg", data_version=0)
    bare_meta = api_selectors.PackageMeta(bare.pk, 0, None, dt.date(2026, 11, 23))
    assert api_selectors.package_meta("bare-pkg") == bare_meta
    assert api_selectors.package_recent("bare-pkg") == api_selectors.Recent(
        bare_meta, None, None, None
    )
    assert api_selectors.package_meta("no-such-pkg") is None
    assert api_selectors.package_recent("no-such-pkg") is None


@pytest.mark.django_db
def test_series_carries_the_same_meta_and_nothing_for_an_unknown_package() -> None:
    refreshed = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.UTC)
    held = Package.objects.create(name="series-pkg", data_version=4, last_refreshed_at=refreshed)
    # No package holds any day yet: no ETL date, so the default window is empty.
    empty = api_selectors.package_series("series-pkg", Metric.OVERALL)
    assert empty == api_selectors.Series(api_selectors.PackageMeta(held.pk, 4, refreshed, None), [])
    Package.objects.create(name="dated-pkg", latest_date=dt.date(2026, 11, 23))
    series = api_selectors.package_series("series-pkg", Metric.SYSTEM, start=dt.date(2026, 1, 1))
    assert series == api_selectors.Series(
        api_selectors.PackageMeta(held.pk, 4, refreshed, dt.date(2026, 11, 23)), []
    )
    assert api_selectors.package_series("no-such-pkg", Metric.OVERALL) is None
    assert (
        api_selectors.package_series("no-such-pkg", Metric.OVERALL, end=dt.date(2026, 1, 1)) is None
    )


@pytest.mark.postgres
def test_categories_come_in_byte_order_under_a_linguistic_collation(
    seeded: dict[str, Package], client: Client
) -> None:
    """Upstream orders categories by their lower-cased name in byte order. A database created
    with a linguistic collation sorts punctuation otherwise (ICU: "x_a" before "x-c"; bytes:
    "-" 0x2D before "_" 0x5F): the read says COLLATE "C" so that any database gives upstream's
    order. The column takes ICU's collation here, inside the test's transaction."""
    with connection.cursor() as cursor:
        cursor.execute(
            'ALTER TABLE packages_app_category ALTER COLUMN name TYPE varchar(16) COLLATE "und-x-icu"'
        )
    package = seeded["demo-pkg"]
    names = ["x_a", "Xb", "x-c"]
    store(
        Point(package, Category.objects.create(metric=Metric.SYSTEM, name=name), golden.D, 7)
        for name in names
    )
    Package.objects.filter(pk=package.pk).update(data_version=package.data_version + 1)
    rows = client.get("/api/packages/demo-pkg/system").json()["data"]
    shown = [row["category"] for row in rows if row["category"] in names]
    assert shown == ["x-c", "x_a", "Xb"]  # sorted(names, key=str.lower)

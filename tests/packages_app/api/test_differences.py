"""The deliberate differences from upstream, one test (or more) each (README: "The compatible JSON API")."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from django.test import Client

from packages_app.models import Category, Metric, Package, Source, UpstreamState
from tests.packages_app import golden
from tests.stored_points import Point, store


def _capture(target: str) -> golden.Capture:
    return next(c for c in golden.captures() if c.target == target)


def _json(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    document: dict[str, Any] = orjson.loads(response.content)
    return document


# --- 1. Full PEP 503 names ------------------------------------------------------------


@pytest.mark.parametrize("name", ["Demo-Pkg", "DEMO-PKG", "demo_pkg", "Demo.Pkg", "demo__pkg"])
def test_uppercase_names_answer(seeded: dict[str, Package], client: Client, name: str) -> None:
    """Upstream only swaps `.`/`_` for `-`: `Demo-Pkg` 404s there. Ours answers, echoing the canonical name."""
    canonical = client.get("/api/packages/demo-pkg/recent")
    response = client.get(f"/api/packages/{name}/recent")
    assert response.content == canonical.content
    assert _json(response)["package"] == "demo-pkg"
    system = client.get(f"/api/packages/{name}/system")
    assert system.content == _capture("/api/packages/demo-pkg/system").body


def test_separator_runs_collapse(seeded: dict[str, Package], client: Client) -> None:
    response = client.get("/api/packages/zope..interface/recent")
    assert response.content == _capture("/api/packages/zope.interface/recent").body


@pytest.mark.parametrize("name", ["Django", "zope.interface", "typing_extensions"])
def test_popular_spellings_answer(db: None, client: Client, name: str) -> None:
    from packages_app.models import RecentDownloads

    canonical = name.lower().replace(".", "-").replace("_", "-")
    package = Package.objects.create(name=canonical, data_version=1)
    RecentDownloads.objects.create(package=package, last_day=1, last_week=2, last_month=3)
    body = _json(client.get(f"/api/packages/{name}/recent"))
    assert body == {
        "data": {"last_day": 1, "last_month": 3, "last_week": 2},
        "package": canonical,
        "type": "recent_downloads",
    }


def test_non_ascii_name_is_404(seeded: dict[str, Package], client: Client) -> None:
    """Upstream answers 200 with `"package":"\\u00fc"` on breakdowns; `ü` is no project name: 404."""
    for endpoint in ("recent", "overall", "python_major", "python_minor", "system"):
        response = client.get(f"/api/packages/%C3%BC/{endpoint}")
        assert response.status_code == 404
        assert response["Content-Type"] == "text/html; charset=utf-8"
        assert response.content == b"404"


# --- 2. os=other, os=null, version=null match -------------------------------------------


@pytest.mark.parametrize(
    ("other", "null"), [("other", "null"), ("OTHER", "NULL"), ("Other", "Null")]
)
def test_os_other_and_null_match(
    seeded: dict[str, Package], client: Client, other: str, null: str
) -> None:
    body = _json(client.get(f"/api/packages/demo-pkg/system?os={other}"))
    assert body["data"] == [{"category": "other", "date": "2026-11-23", "downloads": 1}]
    body = _json(client.get(f"/api/packages/demo-pkg/system?os={null}"))
    assert body["data"] == [
        {"category": "null", "date": "2026-11-22", "downloads": 10},
        {"category": "null", "date": "2026-11-23", "downloads": 7},
    ]


def test_version_null_matches(seeded: dict[str, Package], client: Client) -> None:
    major = _json(client.get("/api/packages/demo-pkg/python_major?version=null"))
    assert [r["downloads"] for r in major["data"]] == [5, 9]
    minor = _json(client.get("/api/packages/demo-pkg/python_minor?version=NULL"))
    assert minor["data"] == [{"category": "null", "date": "2026-11-23", "downloads": 9}]


def test_title_matching_is_kept_for_the_rest(seeded: dict[str, Package], client: Client) -> None:
    """`.title()` still decides everything else: `3.1` is not `3.10`, `lInUx` is Linux."""
    assert _json(client.get("/api/packages/demo-pkg/python_minor?version=3.1"))["data"] == []
    assert len(_json(client.get("/api/packages/demo-pkg/system?os=lInUx"))["data"]) == 2


# --- 3. The default window and start_date/end_date ---------------------------------------


def test_default_window_drops_d200(seeded: dict[str, Package], client: Client) -> None:
    """Upstream returns every row it holds; its purge keeps 181 dates, but the captures'
    D-200 row was hand-inserted. Our default is the 181 dates, so that one row is absent,
    and everything else is byte-identical."""
    for target in (
        "/api/packages/demo-pkg/overall",
        "/api/packages/demo-pkg/overall?mirrors=true",
        "/api/packages/demo-pkg/overall?mirrors=false",
        "/api/packages/demo-pkg/overall?mirrors=True",
    ):
        expected = orjson.loads(_capture(target).body)
        expected["data"] = [r for r in expected["data"] if r["date"] != "2026-05-08"]
        assert (
            client.get(target).content
            == orjson.dumps(expected, option=orjson.OPT_SORT_KEYS) + b"\n"
        )


def test_window_is_181_dates_ending_at_the_latest_held(
    seeded: dict[str, Package], client: Client
) -> None:
    from packages_app.models import Category, Metric
    from tests.stored_points import Point, store

    package = seeded["zope-interface"]
    category = Category.objects.get(metric=Metric.OVERALL, name="with_mirrors")
    store(
        Point(package, category, golden.D - dt.timedelta(days=before), 9) for before in (180, 181)
    )
    dates = [
        r["date"]
        for r in _json(client.get("/api/packages/zope-interface/overall?mirrors=true"))["data"]
    ]
    assert dates == ["2026-05-27", "2026-11-23"]  # D-180 in, D-181 out


def test_start_date_reaches_all_history(seeded: dict[str, Package], client: Client) -> None:
    """With start_date at or before D-200 the answer is upstream's, byte for byte."""
    for target in (
        "/api/packages/demo-pkg/overall",
        "/api/packages/demo-pkg/overall?mirrors=true",
        "/api/packages/demo-pkg/overall?mirrors=false",
    ):
        sep = "&" if "?" in target else "?"
        response = client.get(f"{target}{sep}start_date=2026-01-01")
        assert response.content == _capture(target).body


def test_start_and_end_date_bound_the_answer(seeded: dict[str, Package], client: Client) -> None:
    body = _json(
        client.get(
            "/api/packages/demo-pkg/overall?mirrors=false&start_date=2026-05-08&end_date=2026-10-15"
        )
    )
    assert [(r["date"], r["downloads"]) for r in body["data"]] == [
        ("2026-05-08", 5),
        ("2026-10-15", 1000),
    ]
    only_end = _json(client.get("/api/packages/demo-pkg/overall?mirrors=false&end_date=2026-06-01"))
    assert [r["date"] for r in only_end["data"]] == ["2026-05-08"]
    # A range with no rows: overall 404s as upstream does on no rows, breakdowns are empty.
    assert (
        client.get(
            "/api/packages/demo-pkg/overall?start_date=2020-01-01&end_date=2020-01-02"
        ).status_code
        == 404
    )
    assert _json(client.get("/api/packages/demo-pkg/system?end_date=2020-01-02"))["data"] == []


@pytest.mark.parametrize(
    "query",
    [
        "start_date=2026-13-01",
        "start_date=20261101",
        "start_date=2026-11-1",
        "end_date=yesterday",
        "end_date=",
        "start_date=2026-11-23&end_date=2026-11-22",
        "start_date=2026-02-30",
    ],
)
def test_bad_dates_are_400(seeded: dict[str, Package], client: Client, query: str) -> None:
    response = client.get(f"/api/packages/demo-pkg/python_minor?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response.content == b"400"


def test_dates_are_ignored_on_recent(seeded: dict[str, Package], client: Client) -> None:
    response = client.get("/api/packages/demo-pkg/recent?start_date=nonsense")
    assert response.content == _capture("/api/packages/demo-pkg/recent").body


# --- Dates before upstream's first day come from ClickHouse ------------------------------------
#
# An answer with a date range that reaches before the package's first upstream day: the days
# before it come from ClickHouse, the days from it on from upstream, never both for one day
# (packages_app.api.selectors.package_series, the rule of points.read).
#
# ClickHouse holds days the upstream also holds (2026-03-10 to 03-15 below), with other
# values: an answer that let them through, or cut the wrong side of the boundary, or ignored
# end_date on either side, shows other dates or other numbers than the ones written out here.

FIRST_UPSTREAM_DAY = dt.date(2026, 3, 10)


def days(first: str, last: str) -> list[dt.date]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def clickhouse_value(day: dt.date) -> int:
    return 5000 + day.toordinal() % 1000


def upstream_value(day: dt.date) -> int:
    return day.day


@pytest.fixture
def mixed(db: None) -> Package:
    package = Package.objects.create(
        name="mixed",
        first_date=FIRST_UPSTREAM_DAY,
        latest_date=dt.date(2026, 3, 20),
        upstream_state=UpstreamState.OK,
    )
    upstream, _ = Category.objects.get_or_create(
        metric=Metric.OVERALL, name="with_mirrors", source=Source.UPSTREAM
    )
    clickhouse, _ = Category.objects.get_or_create(
        metric=Metric.OVERALL, name="with_mirrors", source=Source.CLICKHOUSE
    )
    store(
        [
            Point(package, clickhouse, d, clickhouse_value(d))
            for d in days("2026-02-25", "2026-03-15")
        ]
        + [Point(package, upstream, d, upstream_value(d)) for d in days("2026-03-10", "2026-03-20")]
    )
    return package


def answer(client: Client, query: str) -> list[tuple[str, int]]:
    response = client.get(f"/api/packages/mixed/overall?mirrors=true&{query}")
    assert response.status_code == 200, response.content
    document = orjson.loads(response.content)
    assert {row["category"] for row in document["data"]} <= {"with_mirrors"}
    return [(row["date"], row["downloads"]) for row in document["data"]]


def expected(clickhouse_days: list[dt.date], upstream_days: list[dt.date]) -> list[tuple[str, int]]:
    return [(d.isoformat(), clickhouse_value(d)) for d in clickhouse_days] + [
        (d.isoformat(), upstream_value(d)) for d in upstream_days
    ]


def test_an_open_end_takes_clickhouse_up_to_the_first_upstream_day(
    mixed: Package, client: Client
) -> None:
    assert answer(client, "start_date=2026-02-27") == expected(
        days("2026-02-27", "2026-03-09"), days("2026-03-10", "2026-03-20")
    )
    assert answer(client, "start_date=2026-03-08") == expected(
        days("2026-03-08", "2026-03-09"), days("2026-03-10", "2026-03-20")
    )


def test_an_end_after_the_boundary_cuts_upstream_and_keeps_clickhouse_before_it(
    mixed: Package, client: Client
) -> None:
    assert answer(client, "start_date=2026-02-27&end_date=2026-03-15") == expected(
        days("2026-02-27", "2026-03-09"), days("2026-03-10", "2026-03-15")
    )
    assert answer(client, "start_date=2026-03-09&end_date=2026-03-10") == expected(
        days("2026-03-09", "2026-03-09"), days("2026-03-10", "2026-03-10")
    )


def test_an_end_before_the_boundary_cuts_clickhouse_there(mixed: Package, client: Client) -> None:
    assert answer(client, "start_date=2026-02-27&end_date=2026-03-05") == expected(
        days("2026-02-27", "2026-03-05"), []
    )
    assert answer(client, "end_date=2026-02-26") == expected(days("2026-02-25", "2026-02-26"), [])

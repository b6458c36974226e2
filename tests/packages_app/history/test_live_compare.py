"""Compare accepts packages nobody tracks, their series read from ClickHouse (#15, item 4)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.models import Category, DownloadMonth, Metric, Package
from packages_app.store import points
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


def last_days(name: str, days: int) -> int:
    return sum(model.day_totals(name, LATEST - n * ONE_DAY).without_mirrors for n in range(days))


def test_two_untracked_packages_compare_from_clickhouse(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/compare/?packages=httpx,sqlalchemy&range=30")
    assert response.status_code == 200
    payload = response.context["payload"]
    assert payload["packages"] == ["httpx", "sqlalchemy"]
    stats = {row["name"]: row for row in payload["stats"]}
    assert stats["httpx"]["total"] == last_days("httpx", 30)
    assert stats["sqlalchemy"]["last_week"] == last_days("sqlalchemy", 7)
    assert response.context["waiting"] == []
    # The same payload exported, from the same cache: no query the second time.
    ch.clear_queries()
    exported = client.get("/compare/export.json?packages=httpx,sqlalchemy&range=30")
    assert exported.status_code == 200 and json.loads(exported.content)["packages"] == [
        "httpx",
        "sqlalchemy",
    ]
    assert ch.queries == []


def test_a_tracked_package_beside_an_untracked_one(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    stored = Package.objects.create(
        name="flask", tracked=True, first_date=LATEST - 9 * ONE_DAY, latest_date=LATEST
    )
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    points.put(stored.pk, [(category.pk, LATEST - n * ONE_DAY, 100) for n in range(10)])
    response = client.get("/compare/?packages=flask,httpx&range=30")
    payload = response.context["payload"]
    assert payload["packages"] == ["flask", "httpx"]
    stats = {row["name"]: row for row in payload["stats"]}
    assert stats["flask"]["total"] == 1000
    assert stats["httpx"]["total"] == last_days("httpx", 30)
    assert DownloadMonth.objects.filter(package__name="httpx").count() == 0


def test_unknown_names_and_a_failing_clickhouse_leave_the_rest_charted(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/compare/?packages=httpx,no-such-project-anywhere&range=30")
    assert response.status_code == 200
    assert response.context["payload"]["packages"] == ["httpx"]
    assert "has never seen a project called" in response.content.decode()
    ch.set_faults(status=503)
    response = client.get("/compare/?packages=sqlalchemy&range=90")
    assert response.status_code == 200
    assert response.context["payload"] is None
    assert "is not answering" in response.content.decode()


def test_clickhouse_failing_on_the_series_alone_is_no_500(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    """Its dates and total answered (cached), then the series fail: that name is left out
    with the reason, the tracked one still charted, and nothing wrong is cached."""
    stored = Package.objects.create(
        name="flask", tracked=True, first_date=LATEST - 9 * ONE_DAY, latest_date=LATEST
    )
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    points.put(stored.pk, [(category.pk, LATEST - n * ONE_DAY, 100) for n in range(10)])
    ch.set_faults(status=503, match="GROUP BY date")
    response = client.get("/compare/?packages=flask,httpx&range=30")
    assert response.status_code == 200
    assert response.context["payload"]["packages"] == ["flask"]
    assert [e["name"] for e in response.context["waiting"]] == ["httpx"]
    assert "is not answering" in response.content.decode()
    ch.clear_faults()
    again = client.get("/compare/?packages=flask,httpx&range=30")
    assert again.context["payload"]["packages"] == ["flask", "httpx"]


def test_with_the_source_off_untracked_names_wait_as_today(
    settings: Settings, client: Client
) -> None:
    settings.CLICKHOUSE_URL = ""
    response = client.get("/compare/?packages=httpx")
    assert response.status_code == 200
    assert response.context["payload"] is None
    assert [e["name"] for e in response.context["waiting"]] == ["httpx"]


def series_reads(ch: DemoClickHouse) -> list[list[str]]:
    """The views each recorded series query reads (a series groups by date)."""
    return [re.findall(r" FROM (\w+)", q.sql) for q in ch.queries if "GROUP BY date" in q.sql]


@pytest.mark.parametrize(
    ("query", "views"),
    [
        ("", [["pypi_downloads_per_day_by_version_by_installer_by_type"]]),
        (
            "&metric=python_minor&category=3.11",
            [["pypi_downloads_per_day_by_version_by_python"]],
        ),
        ("&metric=system&category=Windows", [["pypi_downloads_per_day_by_version_by_system"]]),
        # `null` is ClickHouse's unknown less the mirror downloads: the overall series is
        # read along, in the same query.
        (
            "&metric=system&category=null",
            [
                [
                    "pypi_downloads_per_day_by_version_by_installer_by_type",
                    "pypi_downloads_per_day_by_version_by_system",
                ]
            ],
        ),
    ],
)
def test_compare_reads_only_the_series_it_shows(
    ch_settings: Settings, ch: DemoClickHouse, client: Client, query: str, views: list[list[str]]
) -> None:
    response = client.get(f"/compare/?packages=httpx{query}&range=30&agg=day")
    assert response.status_code == 200 and response.context["payload"]["packages"] == ["httpx"]
    assert series_reads(ch) == views
    # Its numbers are the package page's (the same chart layer over all four series).
    ch.clear_queries()
    page = client.get("/packages/httpx/?range=30").context["payload"]
    metric = response.context["payload"]["metric"]
    chart = next(c for c in page["charts"] if c["metric"] == metric and not c["share"])
    shown = response.context["payload"]["category"]
    expected = next(d["data"] for d in chart["datasets"] if d["key"] == shown)
    assert response.context["payload"]["datasets"][0]["data"] == expected


def test_compare_after_the_package_page_reads_no_series_again(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    assert client.get("/packages/sqlalchemy/?range=90").status_code == 200
    ch.clear_queries()
    for query in ("", "&metric=python_major&category=2", "&metric=python_minor&category=null"):
        response = client.get(f"/compare/?packages=sqlalchemy{query}&range=90")
        assert response.context["payload"]["packages"] == ["sqlalchemy"]
    assert series_reads(ch) == []

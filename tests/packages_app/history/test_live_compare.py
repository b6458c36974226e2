"""Compare accepts packages nobody tracks, their series read from ClickHouse (#15, item 4)."""

from __future__ import annotations

import datetime as dt
import json

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


def test_with_the_source_off_untracked_names_wait_as_today(
    settings: Settings, client: Client
) -> None:
    settings.CLICKHOUSE_URL = ""
    response = client.get("/compare/?packages=httpx")
    assert response.status_code == 200
    assert response.context["payload"] is None
    assert [e["name"] for e in response.context["waiting"]] == ["httpx"]

"""Search suggests packages nobody tracks, from ClickHouse's pypi_downloads (issue #15, item 4)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.history.client import BUDGET_ENDPOINT, default_budget
from packages_app.models import Package
from packages_app.pages import search
from packages_app.sync.budget import BudgetExceeded
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


def all_time_with_mirrors(name: str) -> int:
    first = model.first_download_date(name)
    return sum(
        model.day_totals(name, first + n * ONE_DAY).with_mirrors
        for n in range((LATEST - first).days + 1)
    )


def test_an_untracked_project_is_suggested_with_its_all_time_total(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/search/?q=HT", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    results = response.context["results"]
    assert results.matches == []
    assert results.untracked == [search.LiveMatch("httpx", all_time_with_mirrors("httpx"))]
    html = response.content.decode()
    assert 'href="/packages/httpx/"' in html and "not tracked" in html
    # The prefix went as a typed parameter, never into the SQL text.
    sent = [q.sql for q in ch.queries if "pypi_downloads " in q.sql]
    assert sent and all("{prefix:String}" in sql and "'ht'" not in sql for sql in sent)


def test_tracked_packages_come_first_and_are_not_repeated(
    ch_settings: Settings, ch: DemoClickHouse
) -> None:
    Package.objects.create(name="httpx", tracked=True)
    Package.objects.create(name="httpx-extra", tracked=True)
    results = search.suggest("http")
    assert [p.name for p in results.matches] == ["httpx", "httpx-extra"]
    assert results.untracked == []
    assert [m.name for m in search.suggest("sq").untracked] == ["sqlalchemy"]


def test_suggestions_are_cached_briefly(ch_settings: Settings, ch: DemoClickHouse) -> None:
    search.suggest("sql")
    ch.clear_queries()
    assert [m.name for m in search.suggest("sql").untracked] == ["sqlalchemy"]
    assert ch.queries == []


def test_search_answers_without_clickhouse(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ch.set_faults(status=503)
    response = client.get("/search/?q=httpx", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.context["results"].untracked == []
    assert response.context["results"].offer == "httpx"
    assert any("ClickHouse search" in r.getMessage() for r in caplog.records)


def test_one_letter_and_the_source_off_ask_nothing(
    settings: Settings, ch_settings: Settings, ch: DemoClickHouse
) -> None:
    assert search.suggest("h").untracked == []
    assert ch.queries == []
    settings.CLICKHOUSE_URL = ""
    assert search.suggest("httpx").untracked == []


def test_with_the_budget_spent_search_leaves_clickhouse_out(
    ch_settings: Settings, ch: DemoClickHouse, caplog: pytest.LogCaptureFixture
) -> None:
    ch_settings.CLICKHOUSE_RATE_PER_MINUTE = 1
    # Spend this minute's one query (another process may have already).
    with contextlib.suppress(BudgetExceeded):
        default_budget(ch.url).reserve(BUDGET_ENDPOINT, max_wait=0)
    # No wait, no suggestion from ClickHouse, the search still answers.
    assert search.suggest("ht").untracked == []
    assert ch.queries == []
    assert any("ClickHouse search" in r.getMessage() for r in caplog.records)

"""What a refresh records about itself and the categories it writes under, checked in the
database: the calls of THIS refresh on a client that already made some, the run's start,
the package id it reports, a data_version bumped by new `recent` numbers alone, and
category ids kept apart by source and never cached from a transaction that rolled back.

The upstream is a scripted client handed to refresh_package (its `client` parameter), so
every expected value is written out by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from packages_app.models import (
    Category,
    Metric,
    Package,
    RecentDownloads,
    RefreshRun,
    Source,
)
from packages_app.sync import services, upstream

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)
CATEGORY = {
    "overall": "with_mirrors",
    "python_major": "3",
    "python_minor": "3.12",
    "system": "Linux",
}


class ServingClient:
    """Serves one row per series endpoint and the `recent` numbers it holds, counting calls
    as UpstreamClient does; `not_found` makes `overall` answer 404, `error` fails every call."""

    def __init__(self, recent: tuple[int, int, int] = (1, 2, 3)) -> None:
        self.calls = 0
        self.recent_values = recent
        self.not_found = False
        self.error: Exception | None = None

    def series(self, endpoint: str, name: str) -> upstream.SeriesPayload:
        self.calls += 1
        if self.error is not None:
            raise self.error
        if self.not_found:
            raise upstream.UpstreamNotFound(f"{endpoint}: 404 for {name}")
        return upstream.SeriesPayload(endpoint, name, [(CATEGORY[endpoint], DAY, 10)])

    def recent(self, name: str) -> upstream.RecentPayload:
        self.calls += 1
        return upstream.RecentPayload(name, *self.recent_values)

    def close(self) -> None:
        pass


def refresh(package: Package, client: ServingClient) -> services.RefreshResult:
    return services.refresh_package(package_id=package.pk, client=client)  # type: ignore[arg-type]


def test_each_result_and_run_counts_only_its_own_calls_on_a_shared_client() -> None:
    first, _ = services.package_track(name="first-pkg")
    second, _ = services.package_track(name="second-pkg")
    client = ServingClient()
    assert refresh(first, client).calls == 5  # four series and recent
    result = refresh(second, client)
    assert (result.package_id, result.name, result.status, result.calls) == (
        second.pk,
        "second-pkg",
        "ok",
        5,
    )
    assert RefreshRun.objects.get(package=second).calls == 5
    # A 404 and a failure count their own calls too (one each: overall is asked first).
    client.not_found = True
    assert refresh(first, client).calls == 1
    assert RefreshRun.objects.filter(package=first).latest("pk").calls == 1
    client.not_found, client.error = False, upstream.UpstreamFailure("overall: HTTP 503")
    assert refresh(second, client).calls == 1
    assert RefreshRun.objects.filter(package=second).latest("pk").calls == 1
    assert client.calls == 12


def test_the_run_starts_at_the_refreshs_own_time() -> None:
    """On a running clock: the run's start is the instant the package was stamped with."""
    package, _ = services.package_track(name="timed-pkg")
    refresh(package, ServingClient())
    package.refresh_from_db()
    run = RefreshRun.objects.get(package=package)
    assert run.started_at == package.last_refreshed_at
    assert run.finished_at is not None and run.finished_at >= run.started_at


def test_new_recent_numbers_alone_bump_the_data_version() -> None:
    package, _ = services.package_track(name="recent-pkg")
    refresh(package, ServingClient(recent=(1, 2, 3)))
    package.refresh_from_db()
    version = package.data_version
    # The same series again, other recent numbers: the API's cached `recent` is stale.
    result = refresh(package, ServingClient(recent=(4, 5, 6)))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 4)
    package.refresh_from_db()
    assert package.data_version == version + 1
    recent = RecentDownloads.objects.get(package=package)
    assert (recent.last_day, recent.last_week, recent.last_month) == (4, 5, 6)
    # And the same numbers again change nothing.
    refresh(package, ServingClient(recent=(4, 5, 6)))
    package.refresh_from_db()
    assert package.data_version == version + 1


def test_category_ids_keep_each_source_apart() -> None:
    clickhouse = Category.objects.create(
        metric=Metric.OVERALL, name="src-apart", source=Source.CLICKHOUSE
    )
    pair = (int(Metric.OVERALL), "src-apart")
    upstream_id = services.category_ids([pair])[pair]
    assert upstream_id != clickhouse.pk
    assert Category.objects.get(pk=upstream_id).source == Source.UPSTREAM
    assert services.category_ids([pair], source=Source.CLICKHOUSE)[pair] == clickhouse.pk
    # A ClickHouse category created on demand is a ClickHouse one.
    new = (int(Metric.SYSTEM), "src-new")
    created = Category.objects.get(pk=services.category_ids([new], source=Source.CLICKHOUSE)[new])
    assert (created.metric, created.name, created.source) == (
        Metric.SYSTEM,
        "src-new",
        Source.CLICKHOUSE,
    )


def test_a_category_made_in_a_rolled_back_transaction_is_made_again() -> None:
    pair = (int(Metric.PYTHON_MINOR), "3.99")
    with pytest.raises(RuntimeError), transaction.atomic():
        services.category_ids([pair])
        raise RuntimeError("roll back")
    assert not Category.objects.filter(name="3.99").exists()
    again = services.category_ids([pair])[pair]
    assert Category.objects.filter(pk=again, name="3.99").exists()


class ClosingClient(ServingClient):
    """A ServingClient that remembers being closed (refresh_package's own client)."""

    made: list[ClosingClient] = []

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        ClosingClient.made.append(self)

    def close(self) -> None:
        self.closed = True


def test_a_refresh_closes_the_client_it_made_and_leaves_a_given_one_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a client, refresh_package makes one (the upstream seam) and must close it, its
    connection pool included, whatever the outcome; a client handed in is the caller's."""
    ClosingClient.made = []
    monkeypatch.setattr(upstream, "UpstreamClient", ClosingClient)
    package, _ = services.package_track(name="own-client-pkg")
    assert services.refresh_package(package_id=package.pk).status == "ok"
    [own] = ClosingClient.made
    assert own.closed and own.calls == 5
    given = ServingClient()
    given.close = lambda: pytest.fail("closed the caller's client")  # type: ignore[method-assign]
    assert refresh(package, given).status == "ok"
    assert len(ClosingClient.made) == 1  # none made when one is given

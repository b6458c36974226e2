"""How refresh_package records a failure or a 404, field by field, on a frozen clock.

The upstream here is a scripted client handed to refresh_package (its `client`
parameter): it raises the exception a test names, so every recorded value (message,
state, next attempt, the run row, the log line) can be written out by hand.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from pytest_django import Settings

from packages_app.models import Category, Metric, Package, RefreshRun, UpstreamState
from packages_app.sync import services, upstream

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)


class ScriptedClient:
    """Fails the first call with `error`, counting calls as UpstreamClient does."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def series(self, endpoint: str, name: str) -> upstream.SeriesPayload:
        self.calls += 1
        raise self.error

    def recent(self, name: str) -> upstream.RecentPayload:
        raise AssertionError("not reached: the series fail first")

    def close(self) -> None:
        pass


def refresh(package: Package, error: Exception) -> services.RefreshResult:
    client = ScriptedClient(error)
    return services.refresh_package(package_id=package.pk, client=client)  # type: ignore[arg-type]


def test_a_failure_records_the_truncated_message_the_backoff_and_the_run(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.REFRESH_FAILURE_BACKOFF_BASE = 300.0
    package, _ = services.package_track(name="broken-pkg")
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.WARNING):
        result = refresh(package, upstream.UpstreamFailure("x" * 3000))
    message = "UpstreamFailure: " + "x" * (2000 - len("UpstreamFailure: "))
    assert (result.status, result.calls, result.error) == ("failed", 1, message)
    package.refresh_from_db()
    assert (package.last_error, package.last_error_at) == (message, NOW)
    assert (package.upstream_state, package.consecutive_failures) == (UpstreamState.FAILING, 1)
    assert package.next_attempt_at == NOW + dt.timedelta(seconds=300)
    run = RefreshRun.objects.get(package=package)
    assert (run.status, run.error, run.calls, run.finished_at) == ("failed", message, 1, NOW)
    assert [r.getMessage() for r in caplog.records if r.name == services.__name__] == [
        f"refresh of broken-pkg failed: {message}"
    ]


@pytest.mark.parametrize(("retry_after", "pause"), [(7.0, 7), (None, 60)])
def test_a_rate_limit_waits_retry_after_or_the_pause_and_is_not_a_failure(
    settings: Settings, retry_after: float | None, pause: int
) -> None:
    settings.UPSTREAM_PAUSE_AFTER_429 = 60.0
    package, _ = services.package_track(name="throttled-pkg")
    with time_machine.travel(NOW, tick=False):
        refresh(package, upstream.UpstreamRateLimited("overall: 429", retry_after=retry_after))
    package.refresh_from_db()
    assert package.next_attempt_at == NOW + dt.timedelta(seconds=pause)
    assert (package.upstream_state, package.consecutive_failures) == (UpstreamState.NEW, 0)
    assert package.last_error == "UpstreamRateLimited: overall: 429"


def test_a_404_after_failures_clears_the_error_and_finishes_its_run(settings: Settings) -> None:
    settings.REFRESH_NOT_FOUND_RETRY_DAYS = 7
    package, _ = services.package_track(name="gone-pkg")
    refresh(package, upstream.UpstreamFailure("boom"))
    with time_machine.travel(NOW, tick=False):
        result = refresh(package, upstream.UpstreamNotFound("overall: 404"))
    assert (result.status, result.calls) == ("not_found", 1)
    package.refresh_from_db()
    assert (package.upstream_state, package.consecutive_failures, package.last_error) == (
        UpstreamState.NOT_FOUND,
        0,
        "",
    )
    assert package.next_attempt_at == NOW + dt.timedelta(days=7)
    run = RefreshRun.objects.filter(package=package).order_by("-pk").first()
    assert run is not None
    assert (run.status, run.calls, run.finished_at) == ("not_found", 1, NOW)


def test_category_ids_returns_exactly_the_pairs_asked_for() -> None:
    wanted = Category.objects.create(metric=Metric.OVERALL, name="with_mirrors")
    Category.objects.create(metric=Metric.OVERALL, name="without_mirrors")
    ids = services.category_ids(
        [(Metric.OVERALL.value, "with_mirrors"), (Metric.SYSTEM.value, "Linux")]
    )
    linux = Category.objects.get(metric=Metric.SYSTEM, name="Linux")
    assert ids == {
        (Metric.OVERALL.value, "with_mirrors"): wanted.pk,
        (Metric.SYSTEM.value, "Linux"): linux.pk,
    }

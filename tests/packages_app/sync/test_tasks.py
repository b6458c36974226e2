from __future__ import annotations

import datetime as dt
import random

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Package, RefreshRun, UpstreamState
from packages_app.sync import selectors, services, tasks
from pypistats_site.celery import app

pytestmark = pytest.mark.django_db


def test_every_scheduled_task_is_registered() -> None:
    app.loader.import_default_modules()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    # Refresh's own entries are there; other apps (digests, alerts) add theirs.
    assert {
        "packages_app.tasks.sweep_due_packages",
        "packages_app.tasks.sweep_new_and_failed_packages",
        "packages_app.tasks.worker_heartbeat",
    } <= names
    for name in names:
        assert name in app.tasks, name
    assert "packages_app.tasks.refresh_package" in app.tasks


def test_refresh_task_options() -> None:
    task = app.tasks["packages_app.tasks.refresh_package"]
    assert task.acks_late and task.reject_on_worker_lost
    assert task.soft_time_limit is not None and task.time_limit is not None
    assert task.soft_time_limit < task.time_limit
    for retries in range(tasks.REFRESH_MAX_RETRIES + 1):
        for retry_after in (None, 60.0, 10_000.0):
            assert 0 < tasks.retry_countdown(retries, retry_after) <= tasks.RETRY_COUNTDOWN_CAP


def test_the_visibility_timeout_is_the_longest_task_time_limit_plus_a_margin() -> None:
    """A killed worker's task comes back within minutes (issue #13): the visibility timeout
    is derived from the task limits, and no registered task may outlive it."""
    from django.conf import settings

    app.loader.import_default_modules()
    limits = {
        name: task.time_limit or app.conf.task_time_limit
        for name, task in app.tasks.items()
        if not name.startswith("celery.")
    }
    longest = max(limits.values())
    assert longest == settings.REFRESH_TASK_TIME_LIMIT
    timeout = settings.CELERY_VISIBILITY_TIMEOUT
    assert longest < timeout <= longest + 120  # minutes, not the hour it was
    assert app.conf.broker_transport_options.get("visibility_timeout", timeout) == timeout
    assert longest >= tasks.RETRY_COUNTDOWN_CAP


def test_retry_countdowns_are_jittered_between_half_and_all_of_a_doubling_ceiling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The draw is injected: a quarter of the way from the low to the high end.
    monkeypatch.setattr(random, "uniform", lambda low, high: low + (high - low) / 4)
    # Ceilings 30, 60, 120, 240, then 300 (the cap): countdowns at 5/8 of each.
    assert [tasks.retry_countdown(n, None) for n in range(6)] == [
        18.75,
        37.5,
        75.0,
        150.0,
        187.5,
        187.5,
    ]
    assert tasks.retry_countdown(0, 60.0) == 60.0  # at least Retry-After
    assert tasks.retry_countdown(5, 10_000.0) == tasks.RETRY_COUNTDOWN_CAP  # never past the cap


def make(name: str, **fields: object) -> Package:
    package, _ = services.package_track(name=name)
    Package.objects.filter(pk=package.pk).update(**fields)
    package.refresh_from_db()
    return package


def test_due_selectors() -> None:
    now = dt.datetime(2026, 11, 24, 5, 0, tzinfo=dt.UTC)
    before_etl = dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC)
    after_etl = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.UTC)
    new = make("new-one", next_attempt_at=None)
    stale = make("stale", upstream_state="ok", last_refreshed_at=before_etl, next_attempt_at=None)
    fresh = make("fresh", upstream_state="ok", last_refreshed_at=after_etl, next_attempt_at=None)
    make("paused-one", upstream_state="ok", paused=True, last_refreshed_at=before_etl)
    make("untracked-one", upstream_state="ok", tracked=False, last_refreshed_at=before_etl)
    failing_due = make(
        "failing-due", upstream_state="failing", next_attempt_at=now - dt.timedelta(minutes=1)
    )
    make("failing-later", upstream_state="failing", next_attempt_at=now + dt.timedelta(minutes=5))
    make("not-found", upstream_state="not_found", next_attempt_at=now + dt.timedelta(days=6))
    daily = set(selectors.packages_due_daily(now))
    soon = set(selectors.packages_due_soon(now))
    assert daily == {new, stale, failing_due}
    assert soon == {new, failing_due}
    assert set(selectors.packages_due(now)) == {new, stale, failing_due}
    assert fresh not in daily


@pytest.mark.parametrize(
    ("now", "cutoff"),
    [
        # After 01:00 UTC: today's ETL has started; before it: yesterday's is the latest.
        (
            dt.datetime(2026, 11, 24, 5, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2026, 11, 24, 0, 30, tzinfo=dt.UTC),
            dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2026, 3, 1, 0, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 2, 28, 1, 0, tzinfo=dt.UTC),
        ),
    ],
)
def test_daily_cutoff_is_the_latest_etl_start_at_or_before_now(
    now: dt.datetime, cutoff: dt.datetime
) -> None:
    assert selectors.daily_cutoff(now) == cutoff


def test_a_package_refreshed_after_midnight_is_not_due_before_the_etl() -> None:
    # 00:40 UTC: refreshed at 00:10 (after yesterday's 01:00 ETL) is fresh until 01:00.
    now = dt.datetime(2026, 11, 24, 0, 40, tzinfo=dt.UTC)
    fresh = make(
        "after-midnight",
        upstream_state="ok",
        last_refreshed_at=dt.datetime(2026, 11, 24, 0, 10, tzinfo=dt.UTC),
        next_attempt_at=None,
    )
    stale = make(
        "before-yesterdays-etl",
        upstream_state="ok",
        last_refreshed_at=dt.datetime(2026, 11, 23, 0, 50, tzinfo=dt.UTC),
        next_attempt_at=None,
    )
    assert set(selectors.packages_due_daily(now)) == {stale}
    assert fresh not in set(selectors.packages_due(now))


def test_sweep_claims_each_due_package_and_its_refresh_runs_in_process(
    upstream_settings: Settings,
    eager_celery: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    demo: DemoUpstream,
) -> None:
    due = [make(name) for name in ("django", "flask", "nosuchpkg")]
    make("paused-pkg", paused=True)
    # Eager: the fanned-out tasks run here (a real worker's fan-out: test_worker.py).
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_new_and_failed_packages() == 3
    states = dict(Package.objects.values_list("name", "upstream_state"))
    assert states == {"django": "ok", "flask": "ok", "nosuchpkg": "not_found", "paused-pkg": "new"}
    assert RefreshRun.objects.filter(package__in=due).count() == 3
    # Nothing is due any more: a second sweep enqueues nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_new_and_failed_packages() == 0
        assert tasks.sweep_due_packages(reason="test") == 0


def test_a_sweep_claims_what_it_enqueues(settings: Settings) -> None:
    """Enqueued but not yet run, a package is not enqueued again by the next sweep."""
    package = make("claimed")
    # Without executing on_commit callbacks nothing is sent; the claim is what we check.
    assert tasks.sweep_new_and_failed_packages() == 1
    package.refresh_from_db()
    assert package.next_attempt_at is not None
    assert package.next_attempt_at > timezone.now() + dt.timedelta(
        seconds=settings.REFRESH_CLAIM_SECONDS - 60
    )
    assert tasks.sweep_new_and_failed_packages() == 0


def test_the_per_package_lock_prevents_overlap(
    upstream_settings: Settings, eager_celery: None, demo: DemoUpstream
) -> None:
    package = make("requests")
    key = tasks.refresh_lock_key(package.pk)
    assert cache.add(key, "another-task:nonce", timeout=60)
    result = tasks.refresh_package.apply(args=(package.pk,), task_id="mine").get()
    assert result["status"] == "locked"
    assert not RefreshRun.objects.filter(package=package).exists()
    assert demo.requests == []
    assert cache.get(key) == "another-task:nonce"  # not taken over


def test_a_copy_of_a_task_whose_delivery_died_waits_for_its_lock_then_runs(
    upstream_settings: Settings, eager_celery: None, demo: DemoUpstream
) -> None:
    """The earlier delivery of the same task was killed holding the lock: the lock lapses
    (nobody renews it) and the copy runs the refresh."""
    package = make("requests")
    key = tasks.refresh_lock_key(package.pk)
    cache.set(key, "mine:killed-delivery", timeout=1)
    result = tasks.refresh_package.apply(args=(package.pk,), task_id="mine").get()
    assert result["status"] == "ok"
    assert cache.get(key) is None  # released
    # A further copy of the same, now completed, task does nothing.
    again = tasks.refresh_package.apply(args=(package.pk,), task_id="mine").get()
    assert again["status"] == "duplicate"
    assert RefreshRun.objects.filter(package=package).count() == 1


def test_the_lock_is_renewed_while_the_refresh_runs(settings: Settings) -> None:
    """A live holder keeps its lock past the lock's lifetime: only a dead one loses it."""
    import time

    settings.REFRESH_LOCK_SECONDS = 1
    key = tasks.refresh_lock_key(4242)
    with tasks.refresh_lock(4242, "holder"):
        token = cache.get(key)
        deadline = time.monotonic() + 2.5  # more than twice the lock's lifetime
        while time.monotonic() < deadline:
            assert cache.get(key) == token
            time.sleep(0.2)
        with pytest.raises(tasks.LockBusy), tasks.refresh_lock(4242, "another-task"):
            pass
    assert cache.get(key) is None


def test_an_upstream_failure_records_the_run_and_asks_celery_for_a_jittered_retry(
    upstream_settings: Settings, eager_celery: None, demo: DemoUpstream
) -> None:
    """What the task does with an upstream failure: the run is recorded as failed and the
    task raises Celery's Retry with its first countdown (30 s halved to full, jittered).
    That a broker redelivers a task is proven with a real worker (test_worker.py)."""
    package = make("numpy")
    demo.set_faults(status=503, endpoints=["overall"], times=2)
    with pytest.raises(Retry, match="UpstreamFailure") as raised:
        tasks.refresh_package.apply(args=(package.pk,)).get()
    when = raised.value.when
    assert isinstance(when, float) and 15 <= when <= 30
    runs = list(RefreshRun.objects.filter(package=package).values_list("status", "error"))
    assert runs == [("failed", "UpstreamFailure: overall: HTTP 503")]
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.FAILING and package.consecutive_failures == 1


def test_bad_payloads_are_not_retried_by_the_task(
    upstream_settings: Settings, eager_celery: None, demo: DemoUpstream
) -> None:
    package = make("pandas")
    demo.set_faults(malformed=True)
    assert tasks.refresh_package.apply(args=(package.pk,)).get()["status"] == "failed"
    assert RefreshRun.objects.filter(package=package).count() == 1
    package.refresh_from_db()
    assert package.upstream_state == UpstreamState.FAILING


def test_paused_and_unknown_packages_are_skipped(
    upstream_settings: Settings, eager_celery: None, demo: DemoUpstream
) -> None:
    package = make("scipy", paused=True)
    assert tasks.refresh_package.apply(args=(package.pk,)).get()["status"] == "skipped"
    assert tasks.refresh_package.apply(args=(999_999,)).get()["status"] == "skipped"
    assert demo.requests == []

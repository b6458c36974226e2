"""Tracking starts the backfill (the sweep), the weekly re-read, and `manage.py backfill`."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter

import pytest
import time_machine
from celery.exceptions import Retry
from celery.schedules import crontab
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.history import selectors, tasks
from packages_app.history.models import HistoryState, PackageHistory
from packages_app.models import Metric, Package, Source
from packages_app.store import points
from packages_app.sync import services as sync_services
from pypistats_site.celery import app
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db


def track(name: str, **fields: object) -> Package:
    package = sync_services.package_track(name=name)[0]
    Package.objects.filter(pk=package.pk).update(**fields)
    package.refresh_from_db()
    return package


def clickhouse_days(package: Package) -> set[dt.date]:
    return {
        date
        for *_, date, _ in points.read(
            package_ids=[package.pk], metrics=[1], source=Source.CLICKHOUSE
        )
    }


def test_the_history_tasks_are_scheduled_and_registered() -> None:
    app.loader.import_default_modules()
    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"packages_app.tasks.history_sweep", "packages_app.tasks.history_reread"} <= names
    assert "packages_app.tasks.backfill_package" in app.tasks
    task = app.tasks["packages_app.tasks.backfill_package"]
    assert task.acks_late and task.reject_on_worker_lost
    assert task.soft_time_limit is not None and task.time_limit is not None
    assert task.soft_time_limit < task.time_limit < tasks.BACKFILL_LOCK_TIMEOUT


def test_with_the_source_off_nothing_is_enqueued_or_asked(settings: Settings) -> None:
    assert settings.CLICKHOUSE_URL == ""  # the suite's default
    track("httpx")
    assert tasks.history_sweep() == 0
    assert tasks.history_reread() == 0
    assert not PackageHistory.objects.exists()
    assert tasks.backfill_package.apply(args=(1,)).get()["status"] == "off"


def test_tracking_a_package_starts_its_backfill(
    ch_settings: Settings,
    eager_celery: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    httpx_pkg = track("httpx")
    unknown = track("never-seen-by-clickhouse")
    track("paused-one", paused=True)
    track("__all__")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.history_sweep() == 2
    states = dict(PackageHistory.objects.values_list("package__name", "state"))
    assert states == {"httpx": HistoryState.OK, "never-seen-by-clickhouse": HistoryState.NOT_FOUND}
    assert min(clickhouse_days(httpx_pkg)) < dt.date(2019, 1, 1)
    assert clickhouse_days(unknown) == set()
    # Nothing is due any more.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.history_sweep() == 0


def test_a_sweep_claims_what_it_enqueues(ch_settings: Settings) -> None:
    track("httpx")
    assert tasks.history_sweep() == 1  # on_commit callbacks not run: nothing sent
    claimed = PackageHistory.objects.get(package__name="httpx")
    assert claimed.next_attempt_at is not None and claimed.next_attempt_at > timezone.now()
    assert tasks.history_sweep() == 0


def test_the_weekly_job_re_reads_the_last_weeks(
    ch: DemoClickHouse,
    ch_settings: Settings,
    eager_celery: None,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    package = track("httpx")
    with django_capture_on_commit_callbacks(execute=True):
        tasks.history_sweep()
    since = timezone.now().date() - dt.timedelta(weeks=ch_settings.CLICKHOUSE_REREAD_WEEKS)
    recent, old = LATEST, since - dt.timedelta(days=30)
    assert recent >= since
    # Our copy of a recent and an old day goes wrong (as if ClickPy restated them).
    category = sync_services.category_ids(
        [(Metric.OVERALL, "without_mirrors")], source=Source.CLICKHOUSE
    )[(Metric.OVERALL, "without_mirrors")]
    points.put(package.pk, [(category, recent, 1), (category, old, 1)])
    ch.clear_queries()
    # Its turn is the hour of the week its id falls on; any other hour leaves it alone.
    turn = next_turn(package, timezone.now())
    with time_machine.travel(turn - dt.timedelta(hours=1)):
        assert tasks.history_reread() == 0
    with (
        time_machine.travel(turn),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert tasks.history_reread() == 1
    assert len([q for q in ch.queries if "sum(count)" in q.sql]) == 4
    held = points.by_package(
        package_ids=[package.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        source=Source.CLICKHOUSE,
    )[package.pk]
    assert held[recent] == model.day_totals("httpx", recent).without_mirrors  # re-read
    assert held[old] == 1  # outside the weeks re-read
    assert PackageHistory.objects.get(package=package).state == HistoryState.OK


def next_turn(package: Package, after: dt.datetime) -> dt.datetime:
    """The next :45 of the hour of the week when the package's re-read is due."""
    moment = after.astimezone(dt.UTC).replace(minute=45, second=0, microsecond=0)
    while selectors.reread_slot(moment) != package.pk % selectors.REREAD_SLOTS:
        moment += dt.timedelta(hours=1)
    return moment


def test_the_re_read_runs_hourly_and_takes_each_package_once_a_week() -> None:
    entry = app.conf.beat_schedule["history-reread"]["schedule"]
    assert isinstance(entry, crontab)
    # celery-types does not declare crontab's parsed fields.
    fields = (entry.minute, entry.hour, entry.day_of_week)  # type: ignore[attr-defined]
    assert fields == ({45}, set(range(24)), set(range(7)))
    packages = Package.objects.bulk_create(
        [Package(name=f"spread-{n}", tracked=True) for n in range(1000)]
    )
    PackageHistory.objects.bulk_create(
        [PackageHistory(package=p, state=HistoryState.OK) for p in packages]
    )
    never = [track("paused-one", paused=True), track("failing-one"), track("__all__")]
    PackageHistory.objects.bulk_create(
        [PackageHistory(package=p, state=HistoryState.OK) for p in never[::2]]
        + [PackageHistory(package=never[1], state=HistoryState.FAILING)]
    )
    # A whole week of the beat's runs, from a Monday 00:45 UTC on.
    monday = dt.datetime(2026, 11, 30, 0, 45, tzinfo=dt.UTC)
    per_hour: list[int] = []
    turns: Counter[str] = Counter()
    for hour in range(selectors.REREAD_SLOTS):
        due = selectors.packages_due_reread(monday + dt.timedelta(hours=hour))
        names = list(due.values_list("name", flat=True))
        per_hour.append(len(names))
        turns.update(names)
    assert set(turns) == {p.name for p in packages} and set(turns.values()) == {1}
    # 1,000 over 168 hours: 5 or 6 an hour, never more.
    assert (min(per_hour), max(per_hour)) == (1000 // 168, -(-1000 // 168))
    assert selectors.reread_slot(monday) == 0
    assert selectors.reread_slot(monday + dt.timedelta(days=6, hours=23)) == 167


def test_a_re_read_hour_claims_and_enqueues_only_its_packages(
    ch_settings: Settings, django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks
) -> None:
    packages = [track(f"turn-{n}") for n in range(10)]
    PackageHistory.objects.bulk_create(
        [PackageHistory(package=p, state=HistoryState.OK) for p in packages]
    )
    turn = next_turn(packages[3], timezone.now())
    with time_machine.travel(turn), django_capture_on_commit_callbacks() as sent:
        assert tasks.history_reread() == 1
    assert len(sent) == 1  # one fan-out after the claim commits
    claimed = PackageHistory.objects.filter(next_attempt_at__isnull=False)
    assert [h.package_id for h in claimed] == [packages[3].pk]


def test_a_failing_backfill_records_the_failure_and_asks_celery_for_a_retry(
    ch: DemoClickHouse, ch_settings: Settings, eager_celery: None
) -> None:
    """What the task does when ClickHouse is unavailable: the failure is recorded and the
    task raises Celery's Retry with a countdown (eager mode does not re-run it; a broker
    would). The next delivery, with ClickHouse answering again, completes the backfill."""
    package = track("httpx")
    ch.set_faults(status=503, match="max_min", times=1)
    ch_settings.CLICKHOUSE_MAX_TRIES = 1
    with pytest.raises(Retry, match="HTTP 503") as raised:
        tasks.backfill_package.apply(args=(package.pk,)).get()
    assert isinstance(raised.value.when, float) and raised.value.when > 0
    history = PackageHistory.objects.get(package=package)
    assert history.state == HistoryState.FAILING and history.consecutive_failures == 1
    tasks.backfill_package.apply(args=(package.pk,)).get()
    history.refresh_from_db()
    assert history.state == HistoryState.OK and history.consecutive_failures == 0
    assert len([q for q in ch.queries if q.fault]) == 1


def test_due_selector_picks_new_and_retryable() -> None:
    now = timezone.now()
    fresh = track("fresh")
    waiting = track("waiting")
    PackageHistory.objects.create(
        package=waiting, state=HistoryState.FAILING, next_attempt_at=now + dt.timedelta(hours=1)
    )
    retry = track("retry")
    PackageHistory.objects.create(
        package=retry, state=HistoryState.FAILING, next_attempt_at=now - dt.timedelta(seconds=1)
    )
    done = track("done")
    PackageHistory.objects.create(package=done, state=HistoryState.OK)
    assert set(selectors.packages_due_backfill(now)) == {fresh, retry}
    assert set(selectors.packages_with_history()) == {done}


def test_the_command_backfills_names_with_a_summary(ch_settings: Settings) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("backfill", "HTTPX", "never-seen-by-clickhouse", stdout=out, stderr=err)
    assert "2 packages, 6 ClickHouse queries" in out.getvalue()
    assert "not in ClickHouse: never-seen-by-clickhouse" in out.getvalue()
    assert "backfill" in err.getvalue()  # the progress bar
    package = Package.objects.get(name="httpx")
    assert package.tracked and clickhouse_days(package)


def test_the_command_all_and_since(ch: DemoClickHouse, ch_settings: Settings) -> None:
    track("httpx")
    track("sqlalchemy")
    out = io.StringIO()
    since = (LATEST - dt.timedelta(days=10)).isoformat()
    call_command("backfill", "--all", "--since", since, "--no-progress", stdout=out)
    assert "2 packages, 10 ClickHouse queries" in out.getvalue()
    for package in Package.objects.all():
        assert min(clickhouse_days(package)) == LATEST - dt.timedelta(days=10)


def test_the_command_refuses_bad_input(ch_settings: Settings, settings: Settings) -> None:
    with pytest.raises(CommandError, match="names or --all"):
        call_command("backfill")
    with pytest.raises(CommandError, match="names or --all"):
        call_command("backfill", "httpx", "--all")
    with pytest.raises(CommandError, match="not a valid package name"):
        call_command("backfill", "bad name!")
    with pytest.raises(CommandError, match="ISO date"):
        call_command("backfill", "httpx", "--since", "yesterday")
    settings.CLICKHOUSE_URL = ""
    with pytest.raises(CommandError, match="off"):
        call_command("backfill", "httpx")


def test_the_command_fails_loudly_on_a_fault(ch: DemoClickHouse, ch_settings: Settings) -> None:
    ch.set_faults(status=500)
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 of 1 backfills failed"):
        call_command("backfill", "httpx", "--no-progress", stderr=err)
    assert "error: httpx:" in err.getvalue()


def test_the_admin_lists_histories(admin_client: object) -> None:
    from django.test import Client

    assert isinstance(admin_client, Client)
    package = track("httpx")
    PackageHistory.objects.create(
        package=package, state=HistoryState.FAILING, last_error="ClickHouseUnavailable: HTTP 503"
    )
    response = admin_client.get("/admin/packages_app/packagehistory/")
    assert response.status_code == 200
    assert b"httpx" in response.content and b"HTTP 503" in response.content
    detail = admin_client.get(f"/admin/packages_app/packagehistory/{package.pk}/change/")
    assert detail.status_code == 200

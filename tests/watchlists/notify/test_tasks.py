"""Beat entries and the Celery tasks for digests and alerts (run eagerly on the real database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from celery.schedules import crontab
from django.core import mail

from pypistats_site.celery import app
from tests.watchlists.notify.helpers import make_package
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import tasks as notify_tasks
from watchlists.notify.models import DigestSubscription, Notification


@pytest.fixture
def eager() -> Iterator[None]:
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    # An exception inside a task fails the test instead of vanishing into its result.
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous


@pytest.mark.django_db
def test_every_beat_task_is_registered() -> None:
    app.loader.import_default_modules()
    # Only this area's entries: the refresh tasks are registered by another branch.
    mine = [
        e["task"] for e in app.conf.beat_schedule.values() if e["task"].startswith("watchlists.")
    ]
    assert sorted(mine) == [
        "watchlists.notify_tasks.check_alerts",
        "watchlists.notify_tasks.deliver_due_notifications",
        "watchlists.notify_tasks.weekly_digests",
    ]
    for name in mine:
        assert name in app.tasks, name


def test_digest_beat_runs_on_monday_mornings_and_retries_hourly_until_noon() -> None:
    schedule = app.conf.beat_schedule["weekly-digests"]["schedule"]
    assert isinstance(schedule, crontab)
    # celery-types does not declare crontab's parsed fields (day_of_week, hour).
    assert schedule.day_of_week == {1}  # type: ignore[attr-defined]  # Monday
    assert schedule.hour == set(range(6, 13))  # type: ignore[attr-defined]
    assert app.conf.beat_schedule["check-alerts"]["task"] == "watchlists.notify_tasks.check_alerts"


@pytest.mark.django_db
def test_weekly_digest_task_claims_and_delivers_once(world: World, eager: None) -> None:
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    pkg = make_package("taskpkg", dt.date(2026, 9, 7), dt.date(2026, 11, 22), 100)
    WatchlistEntry.objects.create(watchlist=world.team_list, package=pkg)
    DigestSubscription.objects.create(watchlist=world.team_list, user=world.alice)
    with time_machine.travel(dt.datetime(2026, 11, 23, 6, 15, tzinfo=dt.UTC), tick=False):
        assert notify_tasks.weekly_digests.run() == "2026-W47: 1 enqueued"
        # The hourly repeat finds the claim: it enqueues the row again, which is a no-op.
        notify_tasks.weekly_digests.run()
        assert notify_tasks.deliver_due_notifications.run() == "0 enqueued"
    assert len(mail.outbox) == 1
    assert Notification.objects.get().state == "sent"


@pytest.mark.django_db
def test_sweep_delivers_a_claim_whose_message_was_lost(world: World, eager: None) -> None:
    n = Notification.objects.create(
        kind="digest",
        channel="email",
        event="digest:x:2026-W47",
        destination=f"user:{world.alice.pk}",
        watchlist=world.team_list,
        recipient="alice@example.org",
        subject="claimed, then the worker died",
        body_text="hello",
    )
    assert notify_tasks.deliver_due_notifications.run() == "1 enqueued"
    assert [m.subject for m in mail.outbox] == ["claimed, then the worker died"]
    n.refresh_from_db()
    assert n.state == "sent"


@pytest.mark.django_db
def test_check_alerts_task(world: World, eager: None) -> None:
    from watchlists.notify.models import AlertRule

    AlertRule.objects.create(
        watchlist=world.team_list, kind="stale", threshold=3, created_by=world.alice
    )
    # The world's "requests" package holds data up to 2026-11-22.
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        assert notify_tasks.check_alerts.run() == "1 enqueued, 0 suppressed"
        assert notify_tasks.check_alerts.run() == "1 enqueued, 0 suppressed"
    assert [m.subject for m in mail.outbox] == ["requests: no new data for 9 days"]

"""Webhook delivery through a real broker and worker (PostgreSQL, Redis): the sweep's
fan-out reaches the receiver once per claimed notification."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from pytest_django import Settings

from packages_app.demo.upstream import DemoUpstream
from tests.packages_app.sync.test_worker import Workers, wait_for
from tests.watchlists.notify.helpers import make_package, weekday_pattern
from tests.watchlists.notify.test_webhooks import END, NOW, Receiver, receiver  # noqa: F401
from tests.world import World
from watchlists.models import WatchlistEntry
from watchlists.notify import alerts
from watchlists.notify import tasks as notify_tasks
from watchlists.notify.models import AlertRule, DeliveryAttempt, Notification, Webhook

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    with DemoUpstream.running() as demo:
        pool = Workers(demo, tmp_path)
        yield pool
        pool.stop_all()


def test_a_worker_delivers_each_claimed_webhook_once(
    fresh_world: World,
    receiver: Receiver,  # noqa: F811 (the fixture imported above)
    workers: Workers,
    settings: Settings,
) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    pattern = weekday_pattern(1000)
    pkg = make_package(
        "jumper",
        dt.date(2026, 9, 1),
        END,
        lambda d: pattern(d) * 2 if d > END - dt.timedelta(days=7) else pattern(d),
    )
    world = fresh_world
    WatchlistEntry.objects.filter(watchlist=world.team_list).delete()
    WatchlistEntry.objects.create(watchlist=world.team_list, package=pkg)
    AlertRule.objects.create(
        watchlist=world.team_list, kind="change", threshold=50, email=False, created_by=world.alice
    )
    Webhook.objects.create(watchlist=world.team_list, url=receiver.url)
    with time_machine.travel(NOW, tick=False):
        (nid,) = alerts.alerts_claim().claimed  # committed: the worker sees it
    workers.start(WEBHOOK_ALLOW_PRIVATE_ADDRESSES="1")
    # The sweep runs on the worker and fans out one delivery task through the broker.
    workers.send(notify_tasks.deliver_due_notifications)
    wait_for(lambda: Notification.objects.get(pk=nid).state == "sent", what="the delivery")
    wait_for(workers.idle, what="every message acknowledged")
    assert len(receiver.posts) == 1
    assert receiver.posts[0]["path"] == "/hook"
    attempts = DeliveryAttempt.objects.filter(notification_id=nid)
    assert [(a.attempt, a.status_code, a.ok) for a in attempts] == [(1, 200, True)]

"""Celery tasks for digests and alerts: thin wrappers, ids in, JSON-safe arguments.

Beat runs weekly_digests (Mondays 06:00-12:00 UTC, hourly: it waits for Sunday's data
and the claims make the repeats no-ops), check_alerts (hourly) and
deliver_due_notifications (every 5 minutes: retries whose Celery message was lost,
rows claimed by a worker that died before sending, lapsed leases).
"""

from __future__ import annotations

import datetime as dt

from celery import Task, shared_task
from django.utils import timezone

from packages_app.sync import quality
from watchlists.notify import alerts, digests
from watchlists.notify import services as notify_services
from watchlists.notify.models import Notification

# A task's own retries stop before the row's attempt budget, and the sweep above
# picks up anything left: the database row, not the broker message, is the truth.
DELIVER_MAX_RETRIES = 4


@shared_task(
    name="watchlists.notify_tasks.deliver_notification",
    bind=True,
    ignore_result=True,
    max_retries=DELIVER_MAX_RETRIES,
    acks_late=True,
)
def deliver_notification(self: Task[[int], str], notification_id: int) -> str:
    """Send one claimed notification; a failed webhook or email retries with backoff."""
    outcome = notify_services.notification_deliver(notification_id)
    if outcome.state == Notification.State.FAILED and outcome.retry_in is not None:
        # Countdowns reach 900 s, past the broker's visibility timeout (settings): Redis may
        # then deliver the retry twice, and the row's lease (notification_deliver only sends
        # a due row it acquires) keeps that to one send.
        raise self.retry(countdown=outcome.retry_in)
    return str(outcome.state)


def _enqueue(ids: list[int]) -> int:
    for notification_id in ids:
        deliver_notification.delay(notification_id)
    return len(ids)


@shared_task(name="watchlists.notify_tasks.weekly_digests", ignore_result=True)
def weekly_digests() -> str:
    week = digests.last_complete_week(timezone.now().date())
    plan = digests.digests_claim(week=week)
    if plan.skipped_not_ready:
        return "not ready"
    return f"{week.label}: {_enqueue(plan.claimed)} enqueued"


@shared_task(name="watchlists.notify_tasks.check_alerts", ignore_result=True)
def check_alerts() -> str:
    # Warms the data-quality cache for the last year as a side effect (detection is
    # cached per calendar year and data version), so chart pages rarely pay for it.
    today = timezone.now().date()
    quality.detected_between(today - dt.timedelta(days=365), today)
    plan = alerts.alerts_claim()
    return f"{_enqueue(plan.claimed)} enqueued, {plan.suppressed} suppressed"


@shared_task(name="watchlists.notify_tasks.deliver_due_notifications", ignore_result=True)
def deliver_due_notifications() -> str:
    return f"{_enqueue(notify_services.due_notification_ids())} enqueued"

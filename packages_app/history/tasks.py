"""Celery tasks of the ClickHouse source: thin wrappers over history.services.

- `history_sweep` (beat, every minute, like upstream's frequent sweep): packages being
  tracked that have no history yet, or whose failed backfill's backoff has passed, get a
  full backfill: tracking a package is what starts its backfill, and no request ever
  calls ClickHouse itself.
- `history_reread` (beat, hourly): every package with history re-reads its last
  CLICKHOUSE_REREAD_WEEKS weeks once a week (ClickPy's sync can lag, then catch up or
  restate days), in the hour of the week its id falls on (id modulo 168): each run takes
  1/168 of the packages, so the budget shared with the pages never meets them all at once.
Both claim the packages (PackageHistory.next_attempt_at) before fanning out one
`backfill_package` each, so a sweep running twice does not enqueue twice. With
CLICKHOUSE_URL empty they do nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import NotRequired, TypedDict

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from packages_app.history import client as ch
from packages_app.history import selectors, services
from packages_app.history.models import PackageHistory
from packages_app.models import Package
from packages_app.sync.tasks import retry_countdown

logger = logging.getLogger(__name__)

BACKFILL_SOFT_TIME_LIMIT = 240
BACKFILL_TIME_LIMIT = 300
BACKFILL_LOCK_TIMEOUT = BACKFILL_TIME_LIMIT + 60
BACKFILL_MAX_RETRIES = 5
CLAIM_SECONDS = 3600


class BackfillTaskResult(TypedDict):
    package_id: int
    status: str  # "off", "locked", "skipped", or the HistoryState after the backfill
    queries: NotRequired[int]
    written: NotRequired[int]
    error: NotRequired[str]


def backfill_lock_key(package_id: int) -> str:
    return f"backfill-lock:{package_id}"


@shared_task(
    name="packages_app.tasks.backfill_package",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=BACKFILL_SOFT_TIME_LIMIT,
    time_limit=BACKFILL_TIME_LIMIT,
    max_retries=BACKFILL_MAX_RETRIES,
    ignore_result=True,
)
def backfill_package(
    self: Task[[int, str | None], BackfillTaskResult], package_id: int, since: str | None = None
) -> BackfillTaskResult:
    """Backfill one package from ClickHouse (`since`: an ISO date, or None for everything)."""
    if not ch.enabled():
        return {"package_id": package_id, "status": "off"}
    key = backfill_lock_key(package_id)
    token = self.request.id or "eager"
    if not cache.add(key, token, timeout=BACKFILL_LOCK_TIMEOUT):
        if cache.get(key) != token:
            return {"package_id": package_id, "status": "locked"}
        cache.set(key, token, timeout=BACKFILL_LOCK_TIMEOUT)
    try:
        package = Package.objects.filter(pk=package_id).first()
        if package is None or not package.tracked or package.paused:
            return {"package_id": package_id, "status": "skipped"}
        with ch.ClickHouseClient(max_wait=settings.UPSTREAM_TASK_MAX_WAIT) as client:
            result = services.package_backfill(
                package_id=package_id,
                client=client,
                since=dt.date.fromisoformat(since) if since else None,
            )
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    if isinstance(result.exception, ch.ClickHouseUnavailable):
        retry_after = getattr(result.exception, "retry_after", None)
        if self.max_retries is not None and self.request.retries < self.max_retries:
            raise self.retry(
                countdown=retry_countdown(self.request.retries, retry_after),
                exc=result.exception,
            )
    return {
        "package_id": package_id,
        "status": result.state,
        "queries": result.queries,
        "written": result.written,
        "error": result.error,
    }


def enqueue_backfills(packages: QuerySet[Package], *, since: dt.date | None = None) -> int:
    """Claim the packages' history rows and enqueue one backfill each, after the claim commits."""
    now = timezone.now()
    claim_until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    with transaction.atomic():
        ids = list(packages.order_by("pk").values_list("pk", flat=True))
        PackageHistory.objects.bulk_create(
            [PackageHistory(package_id=pk) for pk in ids], ignore_conflicts=True
        )
        PackageHistory.objects.filter(package_id__in=ids).update(next_attempt_at=claim_until)
        argument = since.isoformat() if since else None

        def fan_out() -> None:
            for package_id in ids:
                backfill_package.delay(package_id, argument)

        transaction.on_commit(fan_out)
    return len(ids)


@shared_task(name="packages_app.tasks.history_sweep", ignore_result=True)
def history_sweep() -> int:
    """Frequent: newly tracked packages, and failed backfills whose backoff has passed."""
    if not ch.enabled():
        return 0
    count = enqueue_backfills(selectors.packages_due_backfill(timezone.now()))
    if count:
        logger.info("history sweep: %d backfills enqueued", count)
    return count


@shared_task(name="packages_app.tasks.history_reread", ignore_result=True)
def history_reread() -> int:
    """Hourly: re-read the last weeks of the packages whose weekly turn is this hour."""
    if not ch.enabled():
        return 0
    now = timezone.now()
    since = now.date() - dt.timedelta(weeks=settings.CLICKHOUSE_REREAD_WEEKS)
    count = enqueue_backfills(selectors.packages_due_reread(now), since=since)
    logger.info(
        "history re-read since %s, hour %d of the week: %d packages enqueued",
        since,
        selectors.reread_slot(now),
        count,
    )
    return count

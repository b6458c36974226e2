"""Celery tasks: thin wrappers over services. They take ids and JSON-safe arguments.

The beat schedule (pypistats_site/celery.py) runs the two sweeps; a sweep fans out
one `refresh_package` task per due package. Every refresh task:
  - is acks_late + reject_on_worker_lost (settings): a worker killed mid-refresh
    leaves the message unacknowledged and it is redelivered; refresh_package is
    idempotent and writes in one transaction, so a retry is harmless;
  - holds a per-package lock (cache.add, Redis or the file cache) so two refreshes
    of one package never overlap; the redelivery of the same task id takes over a
    lock its dead predecessor left behind;
  - retries upstream failures and rate limits with bounded, jittered countdowns,
    far below the broker's visibility timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import NotRequired, TypedDict

from celery import Task, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from packages_app.models import Package, RefreshRun
from packages_app.sync import selectors, services, upstream

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_KEY = "worker:heartbeat"
REFRESH_SOFT_TIME_LIMIT = 240
REFRESH_TIME_LIMIT = 300
# Longer than the hard time limit: a lock outlives any live holder, and a dead one's
# lock expires by itself (or is taken over by the redelivered task).
REFRESH_LOCK_TIMEOUT = REFRESH_TIME_LIMIT + 60
REFRESH_MAX_RETRIES = 5
# Countdowns stay far below the visibility timeout (3600 s) so nothing runs twice.
RETRY_COUNTDOWN_CAP = 600


class RefreshTaskResult(TypedDict):
    """What refresh_package returns (JSON-safe; its result is not stored, tests read it)."""

    package_id: int
    status: str  # "locked", "skipped", or the RefreshRun status of the refresh
    # Only once a refresh ran:
    calls: NotRequired[int]
    inserted: NotRequired[int]
    updated: NotRequired[int]
    error: NotRequired[str]


def refresh_lock_key(package_id: int) -> str:
    return f"refresh-lock:{package_id}"


@shared_task(name="packages_app.tasks.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> str:
    """Record that a worker is alive and consuming; /healthz reports its age."""
    now = timezone.now().isoformat()
    cache.set(WORKER_HEARTBEAT_KEY, now, timeout=None)
    return now


def retry_countdown(retries: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, at least Retry-After, capped well below visibility."""
    ceiling = min(RETRY_COUNTDOWN_CAP, 30 * 2**retries)
    countdown = random.uniform(ceiling / 2, ceiling)
    if retry_after:
        countdown = max(countdown, retry_after)
    return min(countdown, RETRY_COUNTDOWN_CAP)


@shared_task(
    name="packages_app.tasks.refresh_package",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=REFRESH_SOFT_TIME_LIMIT,
    time_limit=REFRESH_TIME_LIMIT,
    max_retries=REFRESH_MAX_RETRIES,
    ignore_result=True,
)
def refresh_package(self: Task[[int], RefreshTaskResult], package_id: int) -> RefreshTaskResult:
    """Refresh one package from upstream (see services.refresh_package)."""
    key = refresh_lock_key(package_id)
    token = self.request.id or "eager"
    if not cache.add(key, token, timeout=REFRESH_LOCK_TIMEOUT):
        if cache.get(key) != token:
            logger.info("refresh of package %s is already running; skipped", package_id)
            return {"package_id": package_id, "status": "locked"}
        # Our own earlier delivery died holding the lock (worker killed): take over.
        cache.set(key, token, timeout=REFRESH_LOCK_TIMEOUT)
    try:
        # Holding the lock proves no other refresh of this package is alive: a run
        # still marked running was cut short (worker killed, time limit).
        RefreshRun.objects.filter(package_id=package_id, status=RefreshRun.Status.RUNNING).update(
            status=RefreshRun.Status.FAILED,
            error="interrupted (worker lost or time limit); redelivered",
            finished_at=timezone.now(),
        )
        package = Package.objects.filter(pk=package_id).first()
        if package is None or not package.tracked or package.paused:
            return {"package_id": package_id, "status": "skipped"}
        with upstream.UpstreamClient(max_wait=settings.UPSTREAM_TASK_MAX_WAIT) as client:
            result = services.refresh_package(package_id=package_id, client=client)
    finally:
        if cache.get(key) == token:
            cache.delete(key)
    if isinstance(result.exception, upstream.UpstreamFailure):
        retry_after = getattr(result.exception, "retry_after", None)
        # Set to REFRESH_MAX_RETRIES above; Celery's type allows None ("retry forever").
        if self.max_retries is not None and self.request.retries < self.max_retries:
            raise self.retry(
                countdown=retry_countdown(self.request.retries, retry_after),
                exc=result.exception,
            )
    return {
        "package_id": package_id,
        "status": result.status,
        "calls": result.calls,
        "inserted": result.inserted,
        "updated": result.updated,
        "error": result.error,
    }


def _fan_out(ids: list[int]) -> None:
    for package_id in ids:
        refresh_package.delay(package_id)


def enqueue_refreshes(packages: QuerySet[Package]) -> int:
    """Claim the packages (next_attempt_at = now + claim window) and enqueue one task each.

    The claim and the enqueue are one step: the tasks go out after the claim commits,
    so a sweep running twice (two beats, an hourly repeat) does not enqueue twice.
    """
    now = timezone.now()
    claim_until = now + dt.timedelta(seconds=settings.REFRESH_CLAIM_SECONDS)
    with transaction.atomic():
        queryset = Package.objects.filter(pk__in=packages.values("pk")).order_by("pk")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.values_list("pk", flat=True))
        Package.objects.filter(pk__in=ids).update(next_attempt_at=claim_until)
        transaction.on_commit(lambda: _fan_out(ids))
    return len(ids)


@shared_task(name="packages_app.tasks.sweep_due_packages", ignore_result=True)
def sweep_due_packages(reason: str = "daily") -> int:
    """Daily: every active package not refreshed since upstream's latest day."""
    count = enqueue_refreshes(selectors.packages_due_daily(timezone.now()))
    logger.info("sweep (%s): %d packages enqueued", reason, count)
    return count


@shared_task(name="packages_app.tasks.sweep_new_and_failed_packages", ignore_result=True)
def sweep_new_and_failed_packages() -> int:
    """Frequent: new packages, and failed or deferred ones whose backoff has passed."""
    count = enqueue_refreshes(selectors.packages_due_soon(timezone.now()))
    if count:
        logger.info("sweep (new/failed): %d packages enqueued", count)
    return count

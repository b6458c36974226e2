"""Celery tasks: thin wrappers over services. They take ids and JSON-safe arguments.

The beat schedule (pypistats_site/celery.py) runs the two sweeps; a sweep fans out
one `refresh_package` task per due package. Every refresh task:
  - is acks_late + reject_on_worker_lost (settings): a worker killed mid-refresh
    leaves the message unacknowledged and it is redelivered; refresh_package is
    idempotent and writes in one transaction, so a retry is harmless;
  - holds a per-package lock (cache.add, Redis or the file cache) so two refreshes
    of one package never overlap. The lock is short-lived and renewed while the
    refresh runs, so a killed holder's lock lapses within REFRESH_LOCK_SECONDS. A
    redelivered copy of a task (worker killed, or a message past the visibility
    timeout while its first delivery still runs) waits for its earlier delivery's
    lock, then runs only if that delivery did not complete: exactly once, never twice
    at the same time;
  - retries upstream failures and rate limits with bounded, jittered countdowns,
    far below the broker's visibility timeout.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
REFRESH_MAX_RETRIES = 5
# Countdowns are at most the refresh's own time limit. A countdown past the visibility
# timeout makes Redis deliver the message again while the first delivery waits; the lock
# then keeps the two copies to one run.
RETRY_COUNTDOWN_CAP = 300
# A task that completed is remembered this long, so a late copy of it does nothing.
DONE_MARKER_SECONDS = 24 * 3600


class RefreshTaskResult(TypedDict):
    """What refresh_package returns (JSON-safe; its result is not stored, tests read it)."""

    package_id: int
    # "locked" (another task's refresh runs), "duplicate" (a copy of a completed delivery),
    # "skipped", or the RefreshRun status of the refresh
    status: str
    # Only once a refresh ran:
    calls: NotRequired[int]
    inserted: NotRequired[int]
    updated: NotRequired[int]
    error: NotRequired[str]


def refresh_lock_key(package_id: int) -> str:
    return f"refresh-lock:{package_id}"


def refresh_done_key(task_id: str) -> str:
    return f"refresh-done:{task_id}"


class LockBusy(Exception):
    """Another task's refresh of this package is running."""


@contextmanager
def refresh_lock(package_id: int, task_id: str) -> Iterator[None]:
    """Hold the package's refresh lock while the block runs (see the module docstring).

    The value names this delivery (task id and a nonce), so a copy of the same task can
    tell its earlier delivery's lock from another task's. A thread renews the lock every
    third of its lifetime; when the process dies, renewals stop and the lock lapses.
    """
    key = refresh_lock_key(package_id)
    ttl = settings.REFRESH_LOCK_SECONDS
    token = f"{task_id}:{uuid.uuid4().hex}"
    # A copy waits at most one lock lifetime (plus slack) for its earlier delivery.
    deadline = time.monotonic() + ttl + 5
    waiting = False
    while not cache.add(key, token, timeout=ttl):
        holder = cache.get(key)
        if holder is None:
            continue  # released or lapsed between the two calls
        if not str(holder).startswith(f"{task_id}:") or time.monotonic() > deadline:
            raise LockBusy(holder)
        if not waiting:
            logger.info("refresh task %s waits for its earlier delivery's lock", task_id)
            waiting = True
        time.sleep(0.2)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl / 3):
            if cache.get(key) == token:
                cache.touch(key, ttl)

    renewer = threading.Thread(target=renew, name=f"refresh-lock-{package_id}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        if cache.get(key) == token:
            cache.delete(key)


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
    soft_time_limit=settings.REFRESH_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.REFRESH_TASK_TIME_LIMIT,
    max_retries=REFRESH_MAX_RETRIES,
    ignore_result=True,
)
def refresh_package(self: Task[[int], RefreshTaskResult], package_id: int) -> RefreshTaskResult:
    """Refresh one package from upstream (see services.refresh_package)."""
    task_id = self.request.id or f"eager-{uuid.uuid4().hex}"
    try:
        with refresh_lock(package_id, task_id):
            if cache.get(refresh_done_key(task_id)):
                # A copy of a delivery that completed while this one waited for its lock.
                logger.info("refresh task %s already completed; copy dropped", task_id)
                return {"package_id": package_id, "status": "duplicate"}
            # Holding the lock proves no other refresh of this package is alive: a run
            # still marked running was cut short (worker killed, time limit).
            RefreshRun.objects.filter(
                package_id=package_id, status=RefreshRun.Status.RUNNING
            ).update(
                status=RefreshRun.Status.FAILED,
                error="interrupted (worker lost or time limit); redelivered",
                finished_at=timezone.now(),
            )
            package = Package.objects.filter(pk=package_id).first()
            if package is None or not package.tracked or package.paused:
                return {"package_id": package_id, "status": "skipped"}
            with upstream.UpstreamClient(max_wait=settings.UPSTREAM_TASK_MAX_WAIT) as client:
                result = services.refresh_package(package_id=package_id, client=client)
            if not isinstance(result.exception, upstream.UpstreamFailure):
                # Done for good (a retry reuses the task id and must still run).
                cache.set(refresh_done_key(task_id), 1, timeout=DONE_MARKER_SECONDS)
    except LockBusy:
        logger.info("refresh of package %s is already running; skipped", package_id)
        return {"package_id": package_id, "status": "locked"}
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

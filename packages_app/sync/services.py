"""Writes to packages and their data. Every function is keyword-only and atomic."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeGuard

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from packages_app.models import (
    Category,
    Package,
    RecentDownloads,
    RefreshRun,
    Source,
    UpstreamState,
)
from packages_app.names import canonicalize
from packages_app.store import points
from packages_app.sync import selectors, upstream

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

logger = logging.getLogger(__name__)


@transaction.atomic
def package_track(*, name: str, user: User | AnonymousUser | None = None) -> tuple[Package, bool]:
    """Start tracking a package (validated and canonicalised); return (package, created).

    Tracking an untracked or paused package resumes it. The package is due at once:
    the frequent sweep picks it up, so no request ever calls the upstream itself.
    Raises names.InvalidPackageName for an invalid name.
    """
    canonical = canonicalize(name)
    now = timezone.now()
    package, created = Package.objects.select_for_update().get_or_create(
        name=canonical,
        defaults={
            "tracked": True,
            "next_attempt_at": now,
            "added_by": user if _is_user(user) else None,
        },
    )
    if not created and (not package.tracked or package.paused):
        package.tracked = True
        package.paused = False
        package.next_attempt_at = now
        if package.upstream_state == UpstreamState.FAILING:
            package.consecutive_failures = 0
        package.save(update_fields=["tracked", "paused", "next_attempt_at", "consecutive_failures"])
    return package, created


@dataclass(frozen=True)
class TrackOutcome:
    """What `package_track_within_limit` did."""

    package: Package | None  # None: refused, the user reached the daily limit
    started: bool  # a package new to the site: it counts against the daily limit
    resumed: bool  # an untracked or paused package, tracked again
    limit: int  # the daily limit that applied

    @property
    def refused(self) -> bool:
        return self.package is None


def package_track_within_limit(
    *, name: str, user: User | AnonymousUser | None, started_today: int | None = None
) -> TrackOutcome:
    """Start tracking a package for a user, within TRACK_LIMIT_PER_USER_PER_DAY.

    Only a package new to the site counts against the limit, and only such a package
    is refused once the user has started `limit` today; tracking an untracked or paused
    one again always works, and one already tracked is left as it is. `started_today`
    lets a caller that tracks many names count once (watchlist_add_packages); by
    default it is counted here. Raises names.InvalidPackageName for an invalid name.
    """
    canonical = canonicalize(name)
    limit = settings.TRACK_LIMIT_PER_USER_PER_DAY
    existing = Package.objects.filter(name=canonical).first()
    if existing is None:
        if started_today is None:
            started_today = selectors.packages_started_by_user_today(user)
        if started_today >= limit:
            return TrackOutcome(None, started=False, resumed=False, limit=limit)
    elif existing.tracked and not existing.paused:
        return TrackOutcome(existing, started=False, resumed=False, limit=limit)
    package, created = package_track(name=canonical, user=user)
    return TrackOutcome(package, started=created, resumed=existing is not None, limit=limit)


@transaction.atomic
def package_untrack(*, name: str) -> Package | None:
    """Stop refreshing a package. Its stored history is kept (nothing is ever purged)."""
    canonical = canonicalize(name)
    package = Package.objects.select_for_update().filter(name=canonical).first()
    if package is not None and package.tracked:
        package.tracked = False
        package.save(update_fields=["tracked"])
    return package


def _is_user(user: User | AnonymousUser | None) -> TypeGuard[User]:
    return user is not None and user.is_authenticated


# --- refresh from upstream ------------------------------------------------------------------


@dataclass
class RefreshResult:
    """What one refresh did; the `refresh` command and the tasks sum these."""

    package_id: int
    name: str
    status: str
    calls: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_zeros: int = 0
    error: str = ""
    exception: Exception | None = field(default=None, repr=False)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


# (metric, name, source) -> Category.id; categories are never deleted, so the map only grows.
_category_ids: dict[tuple[int, str, int], int] = {}


def category_ids(
    pairs: Iterable[tuple[int, str]], *, source: Source = Source.UPSTREAM
) -> dict[tuple[int, str], int]:
    """Ids of the given (metric, name) categories of one source, creating the missing ones.

    Ids are cached per process once they are committed: inside an outer atomic block
    (which may still roll back) the cache is read but not written.
    """
    wanted = set(pairs)
    found = {
        pair: _category_ids[(*pair, source)] for pair in wanted if (*pair, source) in _category_ids
    }
    missing = wanted - found.keys()
    if missing:
        for category in Category.objects.filter(metric__in={m for m, _ in missing}, source=source):
            if (category.metric, category.name) in missing:
                found[(category.metric, category.name)] = category.id
        for metric, name in missing - found.keys():
            category, _ = Category.objects.get_or_create(metric=metric, name=name, source=source)
            found[(metric, name)] = category.id
        if not connection.in_atomic_block:
            _category_ids.update({(*pair, source): pk for pair, pk in found.items()})
    return found


def _failure_backoff(failures: int) -> dt.timedelta:
    seconds = settings.REFRESH_FAILURE_BACKOFF_BASE * 2 ** max(failures - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.REFRESH_FAILURE_BACKOFF_CAP))


def _recent_values(
    recent: upstream.RecentPayload | None,
) -> tuple[int | None, int | None, int | None]:
    """Upstream's recent rows; a missing row is None.

    Without `period`, upstream zero-fills the periods it holds no row for, and a row it
    holds is a sum of without_mirrors downloads over a window ending at its ETL date
    (update_recent_stats), never 0: so a 0 is exactly a missing row, which `period=`
    answers with 404. (Reading the window from the package's own latest day, as this
    once did, kept a 0 for a package whose data stops before the ETL date.)
    """
    if recent is None:
        return None, None, None
    return recent.last_day or None, recent.last_week or None, recent.last_month or None


def _record_failure(
    package_id: int, run: RefreshRun, exc: Exception, calls: int, now: dt.datetime
) -> str:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        package = Package.objects.select_for_update().get(pk=package_id)
        package.last_error = message
        package.last_error_at = now
        if isinstance(exc, upstream.UpstreamRateLimited):
            # Our budget or upstream's limit, not this package's fault: try again
            # once the pause is over, without marking the package as failing.
            delay = exc.retry_after or settings.UPSTREAM_PAUSE_AFTER_429
            package.next_attempt_at = now + dt.timedelta(seconds=delay)
        else:
            package.consecutive_failures += 1
            package.upstream_state = UpstreamState.FAILING
            package.next_attempt_at = now + _failure_backoff(package.consecutive_failures)
        package.save(
            update_fields=[
                "last_error",
                "last_error_at",
                "consecutive_failures",
                "upstream_state",
                "next_attempt_at",
            ]
        )
        run.status = RefreshRun.Status.FAILED
        run.error = message
        run.calls = calls
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "calls", "finished_at"])
    logger.warning("refresh of %s failed: %s", package.name, message)
    return message


def _record_not_found(package_id: int, run: RefreshRun, calls: int, now: dt.datetime) -> None:
    with transaction.atomic():
        package = Package.objects.select_for_update().get(pk=package_id)
        package.upstream_state = UpstreamState.NOT_FOUND
        package.consecutive_failures = 0
        package.last_error = ""
        package.next_attempt_at = now + dt.timedelta(days=settings.REFRESH_NOT_FOUND_RETRY_DAYS)
        package.save(
            update_fields=[
                "upstream_state",
                "consecutive_failures",
                "last_error",
                "next_attempt_at",
            ]
        )
        run.status = RefreshRun.Status.NOT_FOUND
        run.calls = calls
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "calls", "finished_at"])


def refresh_package(
    *, package_id: int, client: upstream.UpstreamClient | None = None
) -> RefreshResult:
    """Fetch a package's series from upstream and store what is new or changed.

    The upstream calls come first; then ONE transaction writes only new or changed
    points, the recent values and the package's dates/state, and bumps data_version
    when anything changed. Any failure leaves the package's data untouched and records
    the error with a backoff. A 404 on `overall` is a state (not on PyPI Stats),
    looked at again much later. Never raises for a fault during the refresh (upstream,
    database, Redis, time limit): the result carries the exception so a Celery task can
    decide to retry.
    """
    package = Package.objects.get(pk=package_id)
    now = timezone.now()
    run = RefreshRun.objects.create(package=package, started_at=now)
    own_client = client is None
    client = client or upstream.UpstreamClient()
    calls_before = client.calls
    result = RefreshResult(package_id=package.pk, name=package.name, status=RefreshRun.Status.OK)
    try:
        try:
            payloads = [
                client.series(endpoint, package.name) for endpoint in upstream.SERIES_ENDPOINTS
            ]
        except upstream.UpstreamNotFound:
            result.calls = client.calls - calls_before
            _record_not_found(package.pk, run, result.calls, now)
            result.status = RefreshRun.Status.NOT_FOUND
            return result
        try:
            recent: upstream.RecentPayload | None = client.recent(package.name)
        except upstream.UpstreamNotFound:
            # /recent 404s while /overall has data when nothing was downloaded
            # without mirrors lately: "no recent rows", not "no package".
            recent = None
        result.calls = client.calls - calls_before
        _write(package.pk, payloads, recent, run, result, now)
    # Any exception ends the run as failed, with its error and backoff: upstream faults,
    # the database, the task's soft time limit (possibly inside the write transaction, which
    # has rolled back), and what no list would name in advance (redis.ConnectionError from
    # the shared budget when Redis is down). A run left "running" would stay so until the
    # next refresh, and the package would be retried at once instead of backed off.
    # Whatever was raised, nothing was written: the write is one transaction, and it comes
    # after every upstream call.
    except Exception as exc:
        result.calls = client.calls - calls_before
        result.status = RefreshRun.Status.FAILED
        result.error = _record_failure(package.pk, run, exc, result.calls, now)
        result.exception = exc
    finally:
        if own_client:
            client.close()
    return result


def _write(
    package_id: int,
    payloads: list[upstream.SeriesPayload],
    recent: upstream.RecentPayload | None,
    run: RefreshRun,
    result: RefreshResult,
    now: dt.datetime,
) -> None:
    metrics = [payload.metric.value for payload in payloads]
    ids = category_ids(
        {(metric, c) for metric, p in zip(metrics, payloads, strict=True) for c, _, _ in p.rows}
    )
    incoming: dict[tuple[int, dt.date], int] = {}
    for metric, payload in zip(metrics, payloads, strict=True):
        for category, date, downloads in payload.rows:
            incoming[(ids[(metric, category)], date)] = downloads
    dates = [date for _, date in incoming]
    recent_values = _recent_values(recent)
    with transaction.atomic():
        # Serialise writers of one package (PostgreSQL; SQLite's IMMEDIATE
        # transactions already serialise every writer).
        package = Package.objects.select_for_update().get(pk=package_id)
        written = points.upsert(package_id, incoming, keep_over_zero=True)
        for category_id, date, held in written.kept_over_zero:
            # Upstream has had all-zero outage days: a zero replacing a real value is
            # suspect, so ours stays.
            logger.warning(
                "upstream reports 0 for %s category %s on %s where we hold %d; kept ours",
                package.name,
                category_id,
                date,
                held,
            )
        result.inserted, result.updated = written.inserted, written.updated
        result.unchanged = written.unchanged
        result.kept_zeros = len(written.kept_over_zero)
        recent_changed = _write_recent(package_id, recent_values, now)
        changed = written.changed or recent_changed
        if dates:
            package.first_date = min(filter(None, (package.first_date, min(dates))))
            package.latest_date = max(filter(None, (package.latest_date, max(dates))))
        package.last_refreshed_at = now
        package.upstream_state = UpstreamState.OK
        package.consecutive_failures = 0
        package.last_error = ""
        package.next_attempt_at = None
        if changed:
            package.data_version += 1
        package.save(
            update_fields=[
                "first_date",
                "latest_date",
                "last_refreshed_at",
                "upstream_state",
                "consecutive_failures",
                "last_error",
                "next_attempt_at",
                "data_version",
            ]
        )
        run.status = RefreshRun.Status.OK
        run.calls = result.calls
        run.inserted = result.inserted
        run.updated = result.updated
        run.unchanged = result.unchanged
        run.finished_at = timezone.now()
        run.save(
            update_fields=["status", "calls", "inserted", "updated", "unchanged", "finished_at"]
        )


def _write_recent(
    package_id: int, values: tuple[int | None, int | None, int | None], now: dt.datetime
) -> bool:
    day, week, month = values
    current = RecentDownloads.objects.filter(package_id=package_id).first()
    if current is not None and (current.last_day, current.last_week, current.last_month) == values:
        return False
    RecentDownloads.objects.update_or_create(
        package_id=package_id,
        defaults={"last_day": day, "last_week": week, "last_month": month, "updated_at": now},
    )
    return True

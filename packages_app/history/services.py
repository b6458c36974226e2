"""Writes of the ClickHouse source: backfill a package's history, record how it went.

A backfill is: ClickHouse's first and latest day for the package (pypi_downloads_max_min:
never assume yesterday, ClickPy's sync has stalled before), then one query per series
(overall with and without mirrors, Python major, Python minor, system) over the days
asked, then ONE transaction that stores them under ClickHouse's own categories through
store.points.upsert. Upstream's points are other rows: a backfill never changes them, and
an upstream refresh never changes these (the merged read picks per day, packages_app/store).

Any fault (timeout, 5xx, quota, a broken or truncated body, a latest day behind what we
already hold) leaves every stored point as it was and is recorded on the package's
PackageHistory with a backoff.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from packages_app.history import queries
from packages_app.history.client import ClickHouseClient, ClickHouseError, ClickHouseRateLimited
from packages_app.history.models import HistoryState, PackageHistory
from packages_app.models import Package, Source
from packages_app.names import ALL_PACKAGES
from packages_app.store import points
from packages_app.sync.services import category_ids

logger = logging.getLogger(__name__)


class ClickHouseLagging(ClickHouseError):
    """ClickHouse's latest day is before a day we already hold from it (its sync stalled)."""


@dataclass
class BackfillResult:
    package_id: int
    name: str
    state: str  # HistoryState value
    queries: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    since: dt.date | None = None
    through: dt.date | None = None
    error: str = ""
    exception: Exception | None = field(default=None, repr=False)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _failure_backoff(failures: int) -> dt.timedelta:
    seconds = settings.REFRESH_FAILURE_BACKOFF_BASE * 2 ** max(failures - 1, 0)
    return dt.timedelta(seconds=min(seconds, settings.REFRESH_FAILURE_BACKOFF_CAP))


def _history(package_id: int) -> PackageHistory:
    """The package's history row, locked (created on first use)."""
    PackageHistory.objects.get_or_create(package_id=package_id)
    return PackageHistory.objects.select_for_update().get(package_id=package_id)


def _record_failure(package_id: int, exc: Exception, queries_sent: int) -> str:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    now = timezone.now()
    with transaction.atomic():
        history = _history(package_id)
        history.last_error = message
        history.last_error_at = now
        history.queries = queries_sent
        if isinstance(exc, ClickHouseRateLimited):
            # The quota or our budget, not this package's fault: try again after the pause.
            delay = exc.retry_after or settings.CLICKHOUSE_PAUSE_AFTER_QUOTA
            history.next_attempt_at = now + dt.timedelta(seconds=delay)
        else:
            history.consecutive_failures += 1
            history.next_attempt_at = now + _failure_backoff(history.consecutive_failures)
            if history.state != HistoryState.OK:
                history.state = HistoryState.FAILING
        history.save()
    logger.warning("backfill of package %s failed: %s", package_id, message)
    return message


def package_backfill(
    *,
    package_id: int,
    client: ClickHouseClient | None = None,
    since: dt.date | None = None,
) -> BackfillResult:
    """Read the package's history from ClickHouse and store it; never raises for ClickHouse faults.

    `since` None reads everything since the package's first download (the backfill on
    first fetch); a date re-reads from that day on (the weekly job). The result carries
    the exception so a Celery task can decide to retry.
    """
    package = Package.objects.get(pk=package_id)
    result = BackfillResult(package.pk, package.name, HistoryState.OK)
    if package.name == ALL_PACKAGES:
        # __all__ is upstream's total of PyPI, not a ClickHouse project.
        result.state = HistoryState.NOT_FOUND
        return result
    own_client = client is None
    client = client or ClickHouseClient()
    calls_before = client.calls
    try:
        dates = queries.package_dates(client, package.name)
        if dates is None:
            result.queries = client.calls - calls_before
            _record_not_found(package.pk, result.queries)
            result.state = HistoryState.NOT_FOUND
            return result
        held = PackageHistory.objects.filter(package_id=package.pk).first()
        if held is not None and held.latest_date is not None and dates.latest < held.latest_date:
            raise ClickHouseLagging(
                f"ClickHouse's latest day {dates.latest} is before {held.latest_date}, "
                "which we already hold from it"
            )
        result.since = max(since or dates.first, dates.first)
        result.through = dates.latest
        series = (
            queries.package_series(client, package.name, result.since, result.through)
            if result.since <= result.through
            else {}
        )
        result.queries = client.calls - calls_before
        _write(package.pk, dates, series, result)
    except (ClickHouseError, DatabaseError, SoftTimeLimitExceeded) as exc:
        result.queries = client.calls - calls_before
        result.state = HistoryState.FAILING
        result.error = _record_failure(package.pk, exc, result.queries)
        result.exception = exc
    finally:
        if own_client:
            client.close()
    return result


def _record_not_found(package_id: int, queries_sent: int) -> None:
    with transaction.atomic():
        history = _history(package_id)
        history.state = HistoryState.NOT_FOUND
        history.consecutive_failures = 0
        history.last_error = ""
        history.queries = queries_sent
        history.backfilled_at = timezone.now()
        history.next_attempt_at = timezone.now() + dt.timedelta(
            days=settings.REFRESH_NOT_FOUND_RETRY_DAYS
        )
        history.save()


def _write(
    package_id: int,
    dates: queries.Dates,
    series: queries.Points,
    result: BackfillResult,
) -> None:
    ids = category_ids(
        {(int(metric), category) for metric, category, _ in series}, source=Source.CLICKHOUSE
    )
    incoming = {
        (ids[(int(metric), category)], day): downloads
        for (metric, category, day), downloads in series.items()
    }
    days = [day for _, _, day in series]
    with transaction.atomic():
        # The package's row lock serialises its writers (refresh_package takes it too).
        package = Package.objects.select_for_update().get(pk=package_id)
        history = _history(package_id)
        written = points.upsert(package_id, incoming)
        result.inserted, result.updated = written.inserted, written.updated
        result.unchanged = written.unchanged
        if days:
            history.first_date = min(filter(None, (history.first_date, min(days))))
            history.latest_date = max(filter(None, (history.latest_date, max(days))))
        history.source_latest_date = dates.latest
        history.state = HistoryState.OK
        history.backfilled_at = timezone.now()
        history.queries = result.queries
        history.consecutive_failures = 0
        history.last_error = ""
        history.next_attempt_at = None
        history.save()
        if written.changed:
            # Cached pages and API answers are keyed by it.
            package.data_version += 1
            package.save(update_fields=["data_version"])

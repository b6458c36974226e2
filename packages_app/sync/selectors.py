"""Reads for the refresh machinery: which packages are due, the last good refresh, and
how many packages a user started tracking today (the daily limit)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet
from django.utils import timezone

from packages_app.models import Package, RefreshRun, UpstreamState

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def last_successful_refresh() -> RefreshRun | None:
    return (
        RefreshRun.objects.filter(status=RefreshRun.Status.OK)
        .only("finished_at", "package_id")
        .order_by("-finished_at")
        .first()
    )


def packages_started_by_user_today(user: User | AnonymousUser | None) -> int:
    """How many packages `user` started tracking since midnight UTC (the daily limit)."""
    if user is None or not user.is_authenticated:
        return 0
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return Package.objects.filter(added_by=user, created_at__gte=midnight).count()


def daily_cutoff(now: dt.datetime) -> dt.datetime:
    """The start of upstream's latest daily ETL (01:00 UTC) at or before `now`: a refresh
    before it is stale. Between midnight and 01:00 that is yesterday's 01:00; today's
    lies in the future and would make every package refreshed since midnight due again.
    """
    cutoff = now.astimezone(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)
    if cutoff > now:
        cutoff -= dt.timedelta(days=1)
    return cutoff


def packages_due_daily(now: dt.datetime) -> QuerySet[Package]:
    """Active packages not refreshed since upstream's latest day whose next attempt has passed."""
    return Package.objects.active().filter(
        Q(last_refreshed_at__isnull=True) | Q(last_refreshed_at__lt=daily_cutoff(now)),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )


def packages_due_soon(now: dt.datetime) -> QuerySet[Package]:
    """New packages, failing ones whose backoff passed, and deferred ones whose time came."""
    return Package.objects.active().filter(
        Q(upstream_state__in=[UpstreamState.NEW, UpstreamState.FAILING])
        | Q(next_attempt_at__isnull=False),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )


def packages_due(now: dt.datetime) -> QuerySet[Package]:
    """Everything a sweep would refresh now (the `refresh` command with no names)."""
    return (packages_due_daily(now) | packages_due_soon(now)).distinct()

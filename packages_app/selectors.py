"""Reads of packages and their series. Views and the API read through here."""

from __future__ import annotations

import datetime as dt

from django.core.cache import cache
from django.db.models import Max, Q, QuerySet

from .models import Package, RefreshRun, UpstreamState


def site_data_as_of() -> dt.date | None:
    """The newest upstream date held for any tracked package ("data as of" in the footer)."""
    key = "site:data-as-of"
    try:
        cached = cache.get(key)
    except Exception:  # a cache that is down means a query, never an error
        cached = None
    if cached is not None:
        return cached or None
    value = Package.objects.tracked().aggregate(latest=Max("latest_date"))["latest"]
    try:
        cache.set(key, value or "", 60)
    except Exception:
        pass
    return value


def last_successful_refresh() -> RefreshRun | None:
    return (
        RefreshRun.objects.filter(status=RefreshRun.Status.OK)
        .only("finished_at", "package_id")
        .order_by("-finished_at")
        .first()
    )


def tracked_packages() -> list[Package]:
    return list(Package.objects.tracked().order_by("name"))


def daily_cutoff(now: dt.datetime) -> dt.datetime:
    """Upstream's ETL for yesterday starts at 01:00 UTC: a refresh before that is stale."""
    return now.astimezone(dt.UTC).replace(hour=1, minute=0, second=0, microsecond=0)


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

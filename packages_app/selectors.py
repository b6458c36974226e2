"""Reads of packages and their series. Views and the API read through here."""

from __future__ import annotations

import contextlib
import datetime as dt

from django.core.cache import cache
from django.db.models import Max

from .models import Package, RefreshRun


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
    with contextlib.suppress(Exception):
        cache.set(key, value or "", 60)
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

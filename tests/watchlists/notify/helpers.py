"""Data builders for the digest, alert and data-quality tests (real rows, no mocks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import cast

from django.core.mail import EmailMessage, EmailMultiAlternatives

from packages_app.models import Category, Metric, Package, UpstreamState
from tests.stored_points import Point, store


def without_mirrors() -> Category:
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="without_mirrors")
    return category


def make_package(
    name: str,
    start: dt.date,
    end: dt.date,
    value: Callable[[dt.date], int] | int,
    *,
    tracked: bool = True,
) -> Package:
    """A package holding overall/without_mirrors points for every day in [start, end]."""
    package, _ = Package.objects.get_or_create(name=name)
    category = without_mirrors()
    points = []
    day = start
    while day <= end:
        v = value(day) if callable(value) else value
        if v:  # upstream omits zero days: inside the held span a missing day is a zero
            points.append(Point(package, category, day, v))
        day += dt.timedelta(days=1)
    store(points)
    package.first_date = start
    package.latest_date = end
    package.tracked = tracked
    package.upstream_state = UpstreamState.OK
    package.data_version += 1
    package.save()
    return package


def weekday_pattern(base: int) -> Callable[[dt.date], int]:
    """Weekdays `base`, weekends half: a realistic weekly rhythm."""
    return lambda day: base if day.weekday() < 5 else base // 2


def alternatives(message: EmailMessage) -> list[tuple[str, str]]:
    """The HTML (and other) parts of a sent message: (content, MIME type)."""
    assert isinstance(message, EmailMultiAlternatives)
    # Django types a part's content as text, bytes or a message; ours attach HTML text.
    return cast(list[tuple[str, str]], list(message.alternatives))

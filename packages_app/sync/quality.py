"""Data-quality markers: known upstream events (a dated table) and suspect days found in our data.

Charts draw them as annotations, digests mention them, and download alerts whose
window contains one are suppressed (a dip caused by an upstream incident is not news).

Two sources:
- KNOWN_EVENTS: incidents and counting changes documented upstream (dates from
  psf/pypistats.org issues, see docs/decisions.md "Data-quality markers");
- suspect days detected from the stored series: a day on which `__all__` (overall,
  without mirrors) or more than half of the tracked packages fall to zero or below
  SUSPECT_RATIO of their weekday baseline (the mean of the same weekday in the four
  weeks before). Detection runs per calendar year (two queries: packages, points; at
  most MAX_VOTERS packages vote), cached under a key that changes whenever any refresh
  commits data, so a chart costs one aggregate query once its years are cached.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import TypedDict

from django.db.models import Count, Max, Sum

from packages_app import soft_cache
from packages_app.models import Metric, Package
from packages_app.names import ALL_PACKAGES
from packages_app.store import points

ONE_DAY = dt.timedelta(days=1)
# A day below this share of its weekday baseline counts as "far below".
SUSPECT_RATIO = 0.3
# More than this share of the packages held on a day must be far below for the day to be suspect.
MOST_PACKAGES = 0.5
# The baseline: the same weekday in this many previous weeks (all must be held).
BASELINE_WEEKS = 4
# Packages whose baseline is smaller than this are too noisy to vote (a package with
# 3 downloads a day can drop to 0 on any day).
MIN_BASELINE = 20
CACHE_SECONDS = 24 * 3600
# At most this many packages (besides __all__) vote on a day; see _detect_days.
MAX_VOTERS = 100


class MarkerJSON(TypedDict):
    """A marker in a chart payload (ISO dates)."""

    start: str
    end: str
    kind: str
    label: str
    url: str


@dataclass(frozen=True)
class Marker:
    start: dt.date
    end: dt.date
    kind: str  # "incident" | "gap" | "change" (known events) | "suspect" (detected)
    label: str
    url: str = ""

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        return self.start <= end and self.end >= start

    def as_dict(self) -> MarkerJSON:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kind": self.kind,
            "label": self.label,
            "url": self.url,
        }


def _d(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


# Known upstream events, oldest first. "end" is inclusive.
KNOWN_EVENTS: tuple[Marker, ...] = (
    Marker(
        _d("2018-07-26"),
        _d("2018-07-26"),
        "change",
        "Linehaul fix: downloads counted more completely from this day (step up)",
        "https://pypistats.org/faqs",
    ),
    Marker(
        _d("2020-04-08"),
        _d("2020-04-08"),
        "incident",
        "Upstream reported zero downloads for every package",
        "https://github.com/psf/pypistats.org/issues/29",
    ),
    Marker(
        _d("2020-07-18"),
        _d("2020-07-18"),
        "incident",
        "Upstream reported zero downloads for every package",
        "https://github.com/psf/pypistats.org/issues/29",
    ),
    Marker(
        _d("2020-07-19"),
        _d("2020-08-02"),
        "gap",
        "Upstream held no new data for two weeks",
        "https://github.com/psf/pypistats.org/issues/29",
    ),
    Marker(
        _d("2021-11-24"),
        _d("2021-12-01"),
        "incident",
        "Linehaul/BigQuery quota incident: counts dropped to almost zero",
        "https://github.com/psf/pypistats.org/issues/44",
    ),
    # The issues (#67, #68) report a dip in June 2024 without exact days and it was
    # never backfilled upstream: the whole month is marked.
    Marker(
        _d("2024-06-01"),
        _d("2024-06-30"),
        "incident",
        "BigQuery incident: downloads under-counted during June 2024 (never backfilled)",
        "https://github.com/psf/pypistats.org/issues/67",
    ),
    Marker(
        _d("2025-08-02"),
        _d("2025-08-22"),
        "gap",
        "pypistats.org outage: no data served for three weeks",
        "https://github.com/psf/pypistats.org/issues/82",
    ),
    Marker(
        _d("2026-08-24"),
        _d("2026-08-24"),
        "change",
        "PyPI counts only real artifacts from this day (.metadata fetches excluded): step down",
        "https://github.com/psf/pypistats.org/issues/113",
    ),
)


def known_between(start: dt.date, end: dt.date) -> list[Marker]:
    return [m for m in KNOWN_EVENTS if m.overlaps(start, end)]


# --- detection -------------------------------------------------------------------------------


def suspect_days_in(
    by_package: dict[int, dict[dt.date, int]],
    spans: dict[int, tuple[dt.date, dt.date]],
    all_id: int | None,
    start: dt.date,
    end: dt.date,
) -> list[dt.date]:
    """Pure detection over already-fetched series (see the module docstring for the rule).

    `spans` holds each package's (first_date, latest_date): a day outside it is not
    known, so it neither votes nor counts as zero. Inside it a missing day is a zero
    (upstream omits zero rows). Works on day-indexed lists: a year of 100 packages is a
    few hundred thousand integer operations.
    """
    if start > end:
        return []
    lag = 7 * BASELINE_WEEKS
    origin = start - dt.timedelta(days=lag)
    n = (end - origin).days + 1
    arrays: dict[int, tuple[list[int], int, int]] = {}
    for package_id, (first, latest) in spans.items():
        values = [0] * n
        for day, v in by_package.get(package_id, {}).items():
            i = (day - origin).days
            if 0 <= i < n:
                values[i] = v
        arrays[package_id] = (values, (first - origin).days, (latest - origin).days)

    def verdict(package_id: int, i: int) -> bool | None:
        """True: far below its baseline; False: normal; None: cannot vote on this day."""
        values, first, latest = arrays[package_id]
        if not first + lag <= i <= latest:
            return None  # not held, or the four weeks before are not all held
        baseline = sum(values[i - 7 * k] for k in range(1, BASELINE_WEEKS + 1)) / BASELINE_WEEKS
        if baseline < MIN_BASELINE:
            return None  # too small to judge: a few downloads can be zero on any day
        return values[i] < SUSPECT_RATIO * baseline

    others = [pid for pid in arrays if pid != all_id]
    suspect: list[dt.date] = []
    for i in range(lag, n):
        if all_id in arrays and verdict(all_id, i):
            suspect.append(origin + dt.timedelta(days=i))
            continue
        votes = [v for v in (verdict(pid, i) for pid in others) if v is not None]
        # Two packages at least: one package's own bad day is not an upstream event.
        if len(votes) >= 2 and sum(votes) > MOST_PACKAGES * len(votes):
            suspect.append(origin + dt.timedelta(days=i))
    return suspect


def _merge(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive days as (start, end) runs."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] + ONE_DAY == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _data_version() -> str:
    """Changes whenever any refresh commits a change: a key for everything derived here."""
    agg = Package.objects.aggregate(n=Count("id"), v=Sum("data_version"), d=Max("latest_date"))
    return f"{agg['n']}:{agg['v'] or 0}:{agg['d']}"


SUSPECT_LABEL = "Suspect data: downloads far below the usual level for this weekday across PyPI"


def _detect_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Suspect days in [start, end]: two queries (packages, points), at most MAX_VOTERS voters."""
    packages = list(
        Package.objects.filter(latest_date__gte=start, first_date__lte=end, tracked=True)
        .order_by("id")
        .values_list("id", "name", "first_date", "latest_date")
    )
    all_id = next((pid for pid, name, _, _ in packages if name == ALL_PACKAGES), None)
    # Bounded work on a page request: __all__ plus the longest-tracked MAX_VOTERS packages
    # (a sample large enough that "most of them fall" means an upstream event).
    voters = [row for row in packages if row[0] != all_id][:MAX_VOTERS]
    chosen = voters + [row for row in packages if row[0] == all_id]
    spans = {
        pid: (first, latest)
        for pid, _, first, latest in chosen
        if first is not None and latest is not None
    }
    by_package: dict[int, dict[dt.date, int]] = defaultdict(dict)
    if spans:
        by_package.update(
            points.by_package(
                package_ids=spans,
                metric=Metric.OVERALL,
                category="without_mirrors",
                start=start - dt.timedelta(weeks=BASELINE_WEEKS),
                end=end,
            )
        )
    return suspect_days_in(by_package, spans, all_id, start, end)


def _year_key(version: str, year: int) -> str:
    return f"quality:v3:{version}:{year}"


def _suspect_days(first_year: int, last_year: int, version: str) -> list[dt.date]:
    """Suspect days of whole calendar years, cached per year under the data version (a
    chart over several years reuses the years it shares with any other window).

    The years not cached yet are detected in ONE pass (two queries), so a page costs the
    same number of queries whatever the length of its range.
    """
    years = list(range(first_year, last_year + 1))
    keys = {year: _year_key(version, year) for year in years}
    cached = soft_cache.get_many(list(keys.values()))
    by_year = {
        year: [_d(day) for day in cached[key]]
        for year, key in keys.items()
        if isinstance(cached.get(key), list)
    }
    missing = [year for year in years if year not in by_year]
    if missing:
        detected = _detect_days(dt.date(missing[0], 1, 1), dt.date(missing[-1], 12, 31))
        fresh: dict[int, list[dt.date]] = {year: [] for year in missing}
        for day in detected:
            if day.year in fresh:
                fresh[day.year].append(day)
        by_year.update(fresh)
        soft_cache.set_many(
            {keys[y]: [day.isoformat() for day in days] for y, days in fresh.items()},
            CACHE_SECONDS,
        )
    return [day for year in years for day in by_year[year]]


def detected_between(start: dt.date, end: dt.date) -> list[Marker]:
    """Suspect days (merged into runs) in [start, end], from the stored data. Cached.

    Queries: one for the data version, then two when any year of the range is not cached.
    """
    if start > end:
        return []
    version = _data_version()
    days = [day for day in _suspect_days(start.year, end.year, version) if start <= day <= end]
    return [Marker(s, e, "suspect", SUSPECT_LABEL) for s, e in _merge(days)]


def marker_objects_between(start: dt.date, end: dt.date) -> list[Marker]:
    """Known events and detected suspect days overlapping [start, end], by start date.

    A detected day already covered by a known event is not repeated.
    """
    known = known_between(start, end)
    detected = [
        m
        for m in detected_between(start, end)
        if not any(k.start <= m.start and m.end <= k.end for k in known)
    ]
    return sorted(known + detected, key=lambda m: (m.start, m.end, m.kind))


def markers_between(start: dt.date, end: dt.date) -> list[MarkerJSON]:
    """JSON-safe markers for a chart payload: [{start, end, kind, label, url}] (ISO dates)."""
    return [m.as_dict() for m in marker_objects_between(start, end)]


def marked_days(start: dt.date, end: dt.date) -> set[dt.date]:
    """Every day in [start, end] covered by a marker (alerts use this to suppress)."""
    result: set[dt.date] = set()
    for m in marker_objects_between(start, end):
        day = max(m.start, start)
        while day <= min(m.end, end):
            result.add(day)
            day += ONE_DAY
    return result

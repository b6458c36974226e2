"""Pure functions over daily download series: {date: downloads}.

Conventions (shared by the package and compare pages, the exports and the movers):

- **Zero vs nothing held.** Inside the dates held for a package ([first_date,
  latest_date]) a day missing from the series is a zero (upstream omits zero days,
  and its own UI zero-fills). Outside that span nothing is known, so nothing is
  filled: callers clip their window to the dates held first (chart_options.Window).
- **Periods.** `week` is an ISO week starting on Monday, `month` a calendar month.
  A period is *complete* when all its days are inside the window. By default
  (`partial="mark_last"`) an incomplete period at the start of the window is
  dropped (its sum is not comparable with full periods, and it is old news) and an
  incomplete period at the end is kept and flagged `partial`, so the most recent
  downloads stay visible and the chart can draw them as such. `partial="drop"`
  drops both ends; `partial="mark"` keeps both, flagged.
- **7-day average**: trailing (the day and the six before), so it never looks into
  the future; it is None until seven held days are available.
- **Shares** are percentages of the period's total over the given categories; a
  period whose total is zero has no share (None), not 0 %.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

Daily = Mapping[dt.date, int]
Partial = Literal["mark_last", "drop", "mark"]
ONE_DAY = dt.timedelta(days=1)


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Every date from start to end, both included (nothing when start > end)."""
    day = start
    while day <= end:
        yield day
        day += ONE_DAY


def zero_fill(series: Daily, start: dt.date, end: dt.date) -> list[int]:
    """The values of every day in [start, end], a missing day counting as 0."""
    return [series.get(day, 0) for day in days(start, end)]


def period_start(day: dt.date, agg: str) -> dt.date:
    if agg == "day":
        return day
    if agg == "week":
        return day - dt.timedelta(days=day.weekday())
    if agg == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown aggregation {agg!r}")


def period_end(start: dt.date, agg: str) -> dt.date:
    if agg == "day":
        return start
    if agg == "week":
        return start + dt.timedelta(days=6)
    if agg == "month":
        following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - ONE_DAY
    raise ValueError(f"unknown aggregation {agg!r}")


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    partial: bool = False

    @property
    def label(self) -> str:
        return self.start.isoformat()


class PeriodsPayload(TypedDict):
    """The periods as JSON columns: ISO start and end dates, and the partial flags."""

    labels: list[str]
    ends: list[str]
    partial: list[bool]


def periods_payload(periods: Sequence[Period]) -> PeriodsPayload:
    """The `periods` object of the package and compare pages' chart payloads (column lists)."""
    return {
        "labels": [p.start.isoformat() for p in periods],
        "ends": [p.end.isoformat() for p in periods],
        "partial": [p.partial for p in periods],
    }


def periods(start: dt.date, end: dt.date, agg: str, partial: Partial = "mark_last") -> list[Period]:
    """The periods of the window [start, end], with the partial-period rule applied."""
    result: list[Period] = []
    if start > end:
        return result
    first = period_start(start, agg)
    current = first
    while current <= end:
        last = period_end(current, agg)
        complete = current >= start and last <= end
        # The last period is the current one: kept (marked) even when it also starts early.
        is_leading = current == first and current < start and last < end
        if complete:
            result.append(Period(current, last))
        elif partial == "mark" or (partial == "mark_last" and not is_leading):
            result.append(Period(current, last, partial=True))
        current = last + ONE_DAY
    return result


def aggregate(
    series: Daily, start: dt.date, end: dt.date, agg: str, partial: Partial = "mark_last"
) -> tuple[list[Period], list[int]]:
    """Sums per period over the window, zero-filled; days outside the window never count."""
    result_periods = periods(start, end, agg, partial)
    return result_periods, sums(series, start, end, agg, result_periods)


def sums(series: Daily, start: dt.date, end: dt.date, agg: str, of: Sequence[Period]) -> list[int]:
    """The sum of each of the periods `of` (from `periods`), counting only days in [start, end]."""
    if agg == "day":
        return [series.get(p.start, 0) for p in of]
    # One pass over the points, bucketed by period start: O(days), not O(days x periods).
    buckets: dict[dt.date, int] = {}
    for day, value in series.items():
        if start <= day <= end:
            key = period_start(day, agg)
            buckets[key] = buckets.get(key, 0) + value
    return [buckets.get(p.start, 0) for p in of]


def trailing_average(
    series: Daily,
    start: dt.date,
    end: dt.date,
    *,
    held_from: dt.date | None = None,
    window: int = 7,
) -> list[float | None]:
    """The `window`-day trailing mean for each day in [start, end].

    Days before `start` in `series` are used (callers fetch six extra days), but not
    before `held_from` (the first date held): before it nothing is known, so the
    average of a day with fewer than `window` held days behind it is None.
    """
    held_from = held_from or min(series, default=start)
    result: list[float | None] = []
    # A sliding sum over the days from `window - 1` before start to end.
    first = start - dt.timedelta(days=window - 1)
    values = zero_fill(series, first, end)
    running = sum(values[: window - 1])
    for i, day in enumerate(days(start, end)):
        running += values[i + window - 1]
        if day - dt.timedelta(days=window - 1) < held_from:
            result.append(None)
        else:
            result.append(running / window)
        running -= values[i]
    return result


def shares(columns: Mapping[str, Sequence[float]]) -> dict[str, list[float | None]]:
    """Each category's percentage of the per-period total (None where the total is 0)."""
    names = list(columns)
    if not names:
        return {}
    length = len(columns[names[0]])
    totals = [sum(columns[name][i] for name in names) for i in range(length)]
    return {
        name: [(100.0 * columns[name][i] / totals[i]) if totals[i] else None for i in range(length)]
        for name in names
    }


def percent_change(before: float, after: float) -> float | None:
    """(after - before) / before as a percentage; None when there is no base to compare with."""
    if before == 0:
        return None
    return 100.0 * (after - before) / before


def last_complete_week(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """(Monday, Sunday) of the latest ISO week that ends on or before `as_of`."""
    sunday = as_of - dt.timedelta(days=(as_of.weekday() + 1) % 7)
    return sunday - dt.timedelta(days=6), sunday


@dataclass(frozen=True)
class Summary:
    last_day: int | None
    last_7_days: int | None
    last_30_days: int | None
    total: int
    days: int
    # Mean of the window's last 7 days against its first 7, in percent (needs 14 days).
    growth_pct: float | None
    # Last complete ISO week against the one before it, in percent.
    week_over_week_pct: float | None
    last_week: int | None
    previous_week: int | None


def summary(series: Daily, start: dt.date, end: dt.date) -> Summary:
    """Headline numbers over the window [start, end] (already clipped to the dates held)."""
    if start > end:
        return Summary(None, None, None, 0, 0, None, None, None, None)
    values = zero_fill(series, start, end)
    n = len(values)

    def tail(k: int) -> int | None:
        return sum(values[-k:]) if n >= k else None

    growth = percent_change(sum(values[:7]), sum(values[-7:])) if n >= 14 else None
    monday, sunday = last_complete_week(end)
    last_week = previous_week = None
    wow = None
    if monday >= start:
        last_week = sum(zero_fill(series, monday, sunday))
        prev_monday = monday - dt.timedelta(days=7)
        if prev_monday >= start:
            previous_week = sum(zero_fill(series, prev_monday, monday - ONE_DAY))
            wow = percent_change(previous_week, last_week)
    return Summary(
        last_day=values[-1],
        last_7_days=tail(7),
        last_30_days=tail(30),
        total=sum(values),
        days=n,
        growth_pct=growth,
        week_over_week_pct=wow,
        last_week=last_week,
        previous_week=previous_week,
    )


def totals_by_category(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum (category, downloads) pairs per category."""
    result: dict[str, int] = {}
    for name, downloads in rows:
        result[name] = result.get(name, 0) + downloads
    return result

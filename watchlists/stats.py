"""Download figures for watchlist rows, computed in Python from one day-series per package.

Pure functions over {date: downloads}; the selectors fetch every series of a list in
one query and hand them here, so a page costs the same queries for 2 or 200 packages.

Semantics (docs/decisions.md, "Watchlists: figures"):
- last day / week / month are upstream's `recent` definitions over the
  overall/without_mirrors series, anchored on the package's own latest date D:
  D, D-6..D, D-29..D;
- week-over-week compares the last two COMPLETE ISO weeks (Monday..Sunday) ending on
  or before the list's "data as of" date, and only when both weeks have all 7 days;
- the sparkline covers the 90 days ending at the list's "data as of" date.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from packages_app.series import last_complete_week

SPARK_DAYS = 90
SPARK_WIDTH = 120
SPARK_HEIGHT = 28
# How far back one fetch must reach: the sparkline, and two complete weeks (<= 20 days).
WINDOW_DAYS = SPARK_DAYS + 14

Series = dict[dt.date, int]


@dataclass(frozen=True)
class Weeks:
    """The last complete ISO week ending on or before a date, and the week before it."""

    this_start: dt.date
    this_end: dt.date
    prev_start: dt.date
    prev_end: dt.date


def complete_weeks(as_of: dt.date) -> Weeks:
    """The last complete ISO week on or before `as_of` (a Sunday closes its own) and the one before."""
    this_start, this_end = last_complete_week(as_of)
    prev_end = this_start - dt.timedelta(days=1)
    return Weeks(this_start, this_end, prev_end - dt.timedelta(days=6), prev_end)


@functools.lru_cache(maxsize=256)
def window(end: dt.date, days: int) -> tuple[dt.date, ...]:
    """The `days` dates ending at `end`, oldest first (shared by every row of a page)."""
    return tuple(end - dt.timedelta(days=days - 1 - i) for i in range(days))


def period_sum(series: Series, end: dt.date, days: int) -> int | None:
    """Sum of the `days` dates ending at `end`; None when not one of them is held."""
    held = [v for v in map(series.get, window(end, days)) if v is not None]
    return sum(held) if held else None


def full_week_sum(series: Series, start: dt.date) -> int | None:
    values = list(map(series.get, window(start + dt.timedelta(days=6), 7)))
    if None in values:
        return None
    return sum(v for v in values if v is not None)


def change_ratio(current: int | None, previous: int | None) -> float | None:
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def sparkline_points(series: Series, end: dt.date, days: int = SPARK_DAYS) -> str:
    """SVG polyline `points` for the `days` ending at `end`; missing days drawn as zero.

    Empty when nothing is held in the window, so the template can say "no data".
    """
    raw = list(map(series.get, window(end, days)))
    if all(v is None for v in raw):
        return ""
    values = [v or 0 for v in raw]
    top = max(values) or 1
    step = SPARK_WIDTH / (days - 1)
    usable = SPARK_HEIGHT - 2  # a 1-unit margin so the stroke is not clipped
    return " ".join(
        f"{i * step:.1f},{SPARK_HEIGHT - 1 - usable * v / top:.1f}" for i, v in enumerate(values)
    )


@dataclass
class RowFigures:
    day: int | None
    week: int | None
    month: int | None
    this_week: int | None
    prev_week: int | None
    change: float | None
    spark: str


def empty_figures() -> RowFigures:
    return RowFigures(None, None, None, None, None, None, "")


def row_figures(series: Series, latest: dt.date | None, as_of: dt.date | None) -> RowFigures:
    if latest is None or as_of is None:
        return empty_figures()
    weeks = complete_weeks(as_of)
    this_week = full_week_sum(series, weeks.this_start)
    prev_week = full_week_sum(series, weeks.prev_start)
    return RowFigures(
        day=series.get(latest),
        week=period_sum(series, latest, 7),
        month=period_sum(series, latest, 30),
        this_week=this_week,
        prev_week=prev_week,
        change=change_ratio(this_week, prev_week),
        spark=sparkline_points(series, as_of),
    )

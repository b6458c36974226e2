"""Compare one breakdown category across packages: `metric=version|installer|country` with a
`category` (issue #16 item 4), e.g. uv's share of installs across five packages.

Every compared name is read from ClickHouse (tracked or not: breakdowns are never stored),
one category at a time (history/breakdown_keys.py: exact even where the layer's series
cap the tail). The payload has the compare page's shape (pages/compare.py), so the chart,
the no-JS table and the CSV/JSON exports are the same code; `mode=share` is the
category's share of each package's own downloads, and the stats table shows both.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

from packages_app import series, soft_cache
from packages_app.history import breakdown_keys
from packages_app.history.breakdown_selectors import Dates, Kind
from packages_app.history.client import ClickHouseError, enabled
from packages_app.history.live import source_key
from packages_app.pages.chart import (
    CACHE_SECONDS,
    SMOOTH_DAYS,
    json_numbers,
    percentage,
    with_markers,
)
from packages_app.pages.compare import CompareOptions, _period_values, recent_sums

logger = logging.getLogger(__name__)

# Why a compared name has no line: ClickHouse never saw it, it failed, or (latest release)
# the package lists no final release.
UNKNOWN = "unknown"
UNAVAILABLE = "unavailable"
NO_RELEASE = "no_release"
PROBLEM_TEXT = {
    UNKNOWN: "ClickHouse has never seen a project of this name",
    UNAVAILABLE: "ClickHouse is not answering: try again in a few minutes",
    NO_RELEASE: "it lists no final release",
}


def _share(part: int, whole: int) -> float | None:
    return percentage(part, whole) if whole else None


def breakdown_payload(options: CompareOptions) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The chart payload of the packages ClickHouse answers for (None when none does) and,
    for the others, why not (UNKNOWN, UNAVAILABLE, NO_RELEASE). Cached by the options and
    each package's ClickHouse dates and resolved category."""
    kind = options.breakdown
    assert kind is not None
    if not enabled():
        return None, {}
    problems: dict[str, str] = {}
    found: list[tuple[str, Dates, str]] = []  # name, held, resolved key
    try:
        # One query for every name's dates; "latest" resolved for all at once, as the
        # watchlist column resolves it (breakdown_keys.list_shares).
        held_of = breakdown_keys.list_dates(options.packages)
        latest_of: dict[str, str | None] = {}
        if kind is Kind.VERSIONS and options.category == breakdown_keys.LATEST and held_of:
            cells = breakdown_keys.list_shares(list(held_of), kind, breakdown_keys.LATEST)
            latest_of = {name: cell.version for name, cell in cells.items()}
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer for %s: %s", options.packages, exc)
        return None, dict.fromkeys(options.packages, UNAVAILABLE)
    is_latest = kind is Kind.VERSIONS and options.category == breakdown_keys.LATEST
    for name in options.packages:
        held = held_of.get(name)
        resolved = latest_of.get(name) if is_latest else options.category
        if held is None:
            problems[name] = UNKNOWN
        elif resolved is None:
            problems[name] = NO_RELEASE
        else:
            found.append((name, held, resolved))
    if not found:
        return None, problems
    first = min(h.first for _, h, _ in found)
    latest = max(h.latest for _, h, _ in found)
    chart = options.chart
    window = chart.window(first, latest)
    if window is None:
        return None, problems
    parts = [source_key(), options.cache_key] + [
        f"{n}:{h.first}:{h.latest}:{k}" for n, h, k in found
    ]
    key = "comparebreak:v1:" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:40]
    cached = soft_cache.get(key)
    if isinstance(cached, dict):
        return with_markers(dict(cached)), problems

    smooth = chart.smoothing_applies
    fetch_start = window.start - dt.timedelta(days=SMOOTH_DAYS - 1) if smooth else window.start
    periods = series.periods(window.start, window.end, chart.shown_agg)
    fill = list(series.days(fetch_start, window.end))
    datasets: list[dict[str, Any]] = []
    stats: list[dict[str, Any]] = []
    charted: list[str] = []
    # One query for every package: the chart's window and each one's last 30 days.
    span_start = min(fetch_start, *(h.latest - dt.timedelta(days=29) for _, h, _ in found))
    span_end = max(window.end, *(h.latest for _, h, _ in found))
    try:
        read = breakdown_keys.many_key_days(
            {name: key for name, _, key in found},
            {name: held for name, held, _ in found},
            kind,
            span_start,
            span_end,
        )
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer for %s: %s", options.packages, exc)
        return None, {**problems, **{name: UNAVAILABLE for name, _, _ in found}}
    for name, held, resolved in found:
        days = read[name]

        def values(points: dict[dt.date, int], held: Dates = held) -> list[float | None]:
            return _period_values(
                [points.get(d, 0) for d in fill],
                fetch_start,
                (held.first, held.latest),
                window.start,
                window.end,
                periods,
                smooth,
            )

        mine, whole = values(days.key), values(days.total)
        if options.mode == "share":
            column = [
                None if m is None or not w else percentage(m, w)
                for m, w in zip(mine, whole, strict=True)
            ]
        else:
            column = mine
        charted.append(name)
        datasets.append({"key": name, "label": name, "data": json_numbers(column)})
        start, end = max(window.start, held.first), min(window.end, held.latest)
        summ = series.summary(days.key, start, end)
        in_range = sum(n for d, n in days.total.items() if start <= d <= end)
        week_start = max(held.first, held.latest - dt.timedelta(days=6))
        week_mine = sum(n for d, n in days.key.items() if d >= week_start)
        week_all = sum(n for d, n in days.total.items() if d >= week_start)
        stats.append(
            {
                "name": name,
                "category_key": resolved,
                "first_date": held.first.isoformat(),
                "latest_date": held.latest.isoformat(),
                **recent_sums(days.key, held.first, held.latest),
                "total": summ.total,
                "package_total": in_range,
                "days": summ.days,
                "growth_pct": summ.growth_pct,
                "week_over_week_pct": summ.week_over_week_pct,
                "last_complete_week": summ.last_week,
                "previous_week": summ.previous_week,
                "share_pct": _share(summ.total, in_range),
                "last_week_share_pct": _share(week_mine, week_all),
            }
        )
    if not charted:
        return None, problems
    payload: dict[str, Any] = {
        "packages": charted,
        "metric": options.metric_slug,
        "category": options.category,
        "category_label": options.category_label,
        "mode": options.mode,
        "unit": options.unit,
        "window": window.as_payload(),
        "options": chart.as_payload(),
        "periods": series.periods_payload(periods),
        "datasets": datasets,
        "stats": stats,
        "all_pypi": {"needed": False, "held": False},
        "breakdown": kind.value,
    }
    if UNAVAILABLE not in problems.values():
        # A failed package is asked again next time, not cached as missing.
        soft_cache.set(key, payload, CACHE_SECONDS)
    return with_markers(payload), problems

"""The daily download points, stored one calendar month per row (models.DownloadMonth).

This module is the only code that knows how a month is packed: every reader and
writer of points goes through it, and sees plain (date, downloads) points.

A month's `days` is one big-endian signed 64-bit integer per day of the month,
day 1 first; MISSING (-1) marks a day not held (downloads are never negative).
Big-endian because it is PostgreSQL's own `int8send` order, so SQL can build and
read the same bytes (the migration from one row per point does).

Why months: PostgreSQL pays ~40 bytes per row before any data (tuple header, line
pointers, an index tuple). With one row per point that was most of a point's ~90
bytes; a month per row pays it once per ~30 points, about 20 bytes a point with
the covering index included (docs/benchmarks.md, "Storage").
"""

from __future__ import annotations

import calendar
import datetime as dt
import struct
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Q, Sum

from packages_app.models import DownloadMonth, Metric, Source

MISSING = -1
ONE_DAY = dt.timedelta(days=1)
_STRUCTS = {n: struct.Struct(f">{n}q") for n in range(28, 32)}

# (category_id, first day of the month) -> one value per day of the month, MISSING where not held.
Months = dict[tuple[int, dt.date], list[int]]
_MONTH_TABLE = DownloadMonth._meta.db_table


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def month_length(month: dt.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def empty_month(month: dt.date) -> list[int]:
    return [MISSING] * month_length(month)


def encode(values: list[int]) -> bytes:
    return _STRUCTS[len(values)].pack(*values)


def decode(blob: bytes | memoryview) -> list[int]:
    """The values of a packed month (its length says how many days the month has)."""
    size = len(blob) // 8
    if size not in _STRUCTS or len(blob) % 8:
        raise ValueError(f"a packed month holds 28 to 31 values, not {len(blob)} bytes")
    return list(_STRUCTS[size].unpack(blob))


def month_points(
    month: dt.date,
    blob: bytes | memoryview,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Iterator[tuple[dt.date, int]]:
    """The held (date, downloads) of a packed month within [start, end], by date."""
    values = decode(blob)
    first, last = 0, len(values)
    if start is not None and start > month:
        first = start.day - 1 if month_of(start) == month else last
    if end is not None:
        if end < month:
            return
        if month_of(end) == month:
            last = end.day
    base = month.toordinal()
    for index in range(first, last):
        value = values[index]
        if value != MISSING:
            yield dt.date.fromordinal(base + index), value


def _month_range(start: dt.date | None, end: dt.date | None) -> Q:
    query = Q()
    if start is not None:
        query &= Q(month__gte=month_of(start))
    if end is not None:
        query &= Q(month__lte=month_of(end))
    return query


def read(
    *,
    package_ids: Iterable[int],
    metrics: Iterable[int] | None = None,
    category: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    source: Source | None = None,
) -> Iterator[tuple[int, int, str, dt.date, int]]:
    """Held points as (package_id, metric, category name, date, downloads), in ONE query.

    Ordered by package, metric, category name and date. `metrics` and `category` (a name)
    narrow the categories; `start`/`end` (inclusive, either open) the dates.

    `source` None (the default) reads the series the site shows: upstream's points, and
    ClickHouse's only on the days before the package's first upstream day (Package.first_date;
    all of them while upstream holds nothing). Upstream's days stay upstream's, whole (a
    category upstream omits on a day is not filled from the other source), and the two never
    both give a day. A `source` reads that source's points alone (the cross-check).
    """
    query = Q(package_id__in=list(package_ids)) & _month_range(start, end)
    if metrics is not None:
        query &= Q(category__metric__in=[int(m) for m in metrics])
    if category is not None:
        query &= Q(category__name=category)
    if source is not None:
        query &= Q(category__source=source)
    # ClickHouse's month rows sort before upstream's of the same month: its days there
    # all fall before the boundary, so each category's points come out by date.
    rows = (
        DownloadMonth.objects.filter(query)
        .order_by("package_id", "category__metric", "category__name", "month", "-category__source")
        .values_list(
            "package_id",
            "category__metric",
            "category__name",
            "category__source",
            "month",
            "days",
            "package__first_date",
        )
    )
    for package_id, metric, name, row_source, month, blob, boundary in rows:
        last = end
        if source is None and row_source != Source.UPSTREAM and boundary is not None:
            before = boundary - ONE_DAY
            last = before if end is None else min(end, before)
            if last < month:
                continue
        for date, downloads in month_points(month, blob, start, last):
            yield package_id, metric, name, date, downloads


def by_package(
    *,
    package_ids: Iterable[int],
    metric: int,
    category: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    source: Source | None = None,
) -> dict[int, dict[dt.date, int]]:
    """One category's points of several packages: {package_id: {date: downloads}}, one query.

    Merged from both sources unless `source` names one (read's rule).
    """
    ids = list(package_ids)
    result: dict[int, dict[dt.date, int]] = {pk: {} for pk in ids}
    for package_id, _, _, date, downloads in read(
        package_ids=ids,
        metrics=[metric],
        category=category,
        start=start,
        end=end,
        source=source,
    ):
        result[package_id][date] = downloads
    return result


def load(package_id: int, first_month: dt.date, last_month: dt.date) -> Months:
    """The package's stored months in [first_month, last_month], unpacked, for a writer."""
    rows = DownloadMonth.objects.filter(
        package_id=package_id, month__gte=first_month, month__lte=last_month
    ).values_list("category_id", "month", "days")
    return {(category_id, month): decode(blob) for category_id, month, blob in rows}


def save(package_id: int, months: Months) -> None:
    """Write these months of the package (insert or overwrite); a month left empty is removed.

    One bulk upsert (INSERT ... ON CONFLICT DO UPDATE). On PostgreSQL the rows travel as
    five arrays through `unnest`: one statement with five parameters whatever the number of
    months (a ten-year backfill writes ~2,500), where Django's bulk_create sends five
    placeholders per row and the driver's conversion of that text costs more than the
    insert (docs/benchmarks.md, "ClickHouse backfill"). Callers hold the package's row
    lock, as refresh_package does.
    """
    rows: list[tuple[int, dt.date, int, bytes]] = []
    emptied: list[Q] = []
    for (category_id, month), values in months.items():
        held = len(values) - values.count(MISSING)
        if held:
            rows.append((category_id, month, held, encode(values)))
        else:
            emptied.append(Q(category_id=category_id, month=month))
    if rows and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_MONTH_TABLE} (package_id, category_id, month, held, days) "
                "SELECT %s, * FROM unnest(%s::smallint[], %s::date[], %s::smallint[], %s::bytea[]) "
                "ON CONFLICT (package_id, category_id, month) "
                "DO UPDATE SET held = EXCLUDED.held, days = EXCLUDED.days",
                [package_id, *map(list, zip(*rows, strict=True))],
            )
    elif rows:
        DownloadMonth.objects.bulk_create(
            [
                DownloadMonth(
                    package_id=package_id,
                    category_id=category_id,
                    month=month,
                    held=held,
                    days=days,
                )
                for category_id, month, held, days in rows
            ],
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["package", "category", "month"],
            update_fields=["held", "days"],
        )
    if emptied:
        any_emptied = Q()
        for month_query in emptied:
            any_emptied |= month_query
        DownloadMonth.objects.filter(any_emptied, package_id=package_id).delete()


@dataclass
class Upserted:
    """What an upsert changed, counted by point."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # (category_id, date, value held) where a 0 came in and the held value was kept
    kept_over_zero: list[tuple[int, dt.date, int]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)


def upsert(
    package_id: int,
    incoming: Mapping[tuple[int, dt.date], int],
    *,
    keep_over_zero: bool = False,
) -> Upserted:
    """Store {(category_id, date): downloads}, writing only the months with a new or changed day.

    A held day is overwritten (upstream corrects past days); days not in `incoming` stay.
    With `keep_over_zero`, a 0 arriving where a real value is held keeps the held value
    (upstream has had all-zero outage days); the caller decides what to log. Callers hold
    the package's row lock, as refresh_package does.
    """
    result = Upserted()
    if not incoming:
        return result
    dates = [date for _, date in incoming]
    stored = load(package_id, month_of(min(dates)), month_of(max(dates)))
    dirty: Months = {}
    # Many categories share each date: find its month once (a backfill holds 60,000 points).
    months_of: dict[dt.date, dt.date] = {}
    for (category_id, date), downloads in incoming.items():
        if downloads < 0:
            raise ValueError(f"downloads cannot be negative: {downloads}")
        month = months_of.get(date)
        if month is None:
            month = months_of[date] = month_of(date)
        key = (category_id, month)
        values = stored.get(key)
        if values is None:
            values = stored[key] = empty_month(key[1])
        held = values[date.day - 1]
        if held == downloads:
            result.unchanged += 1
            continue
        if held == MISSING:
            result.inserted += 1
        elif keep_over_zero and downloads == 0:
            result.unchanged += 1
            result.kept_over_zero.append((category_id, date, held))
            continue
        else:
            result.updated += 1
        values[date.day - 1] = downloads
        dirty[key] = values
    # Only the months holding a new or changed day are written, whole.
    save(package_id, dirty)
    return result


def put(package_id: int, rows: Iterable[tuple[int, dt.date, int]]) -> None:
    """Store (category_id, date, downloads) points, overwriting any held for those days.

    For seeding (the benchmarks, the tests); refreshes go through upsert with
    upstream's rules (sync/services.py).
    """
    upsert(package_id, {(category_id, date): downloads for category_id, date, downloads in rows})


def put_many(rows_by_package: Mapping[int, Iterable[tuple[int, dt.date, int]]]) -> None:
    for package_id, rows in rows_by_package.items():
        put(package_id, rows)


def count(package_id: int) -> int:
    """How many points the package holds."""
    total = DownloadMonth.objects.filter(package_id=package_id).aggregate(n=Sum("held"))["n"]
    return int(total or 0)


# --- reads in plain series (package pages, the API, badges) -------------------------------

# {metric: {category name as upstream spells it: {date: downloads}}}
SeriesByMetric = dict[Metric, dict[str, dict[dt.date, int]]]


def package_series(
    *,
    package_id: int,
    metrics: Iterable[Metric],
    start: dt.date,
    end: dt.date,
) -> SeriesByMetric:
    """Daily points of one package for some metrics and dates, in ONE query.

    On PostgreSQL an index-only scan of the months' covering primary key
    (read). Plain data out.
    """
    wanted = list(metrics)
    result: SeriesByMetric = {metric: {} for metric in wanted}
    by_value = {int(metric): result[metric] for metric in wanted}
    # Rows arrive category by category: look the series up once per run of rows.
    current_key: tuple[int, str] | None = None
    series: dict[dt.date, int] = {}
    for _, metric_value, category, date, downloads in read(
        package_ids=[package_id], metrics=by_value, start=start, end=end
    ):
        if (metric_value, category) != current_key:
            current_key = (metric_value, category)
            series = by_value[metric_value].setdefault(category, {})
        series[date] = downloads
    return result


def total_without_mirrors(package_id: int) -> int:
    """Every mirror-free download held for the package (the "total" badge)."""
    held = by_package(package_ids=[package_id], metric=Metric.OVERALL, category="without_mirrors")
    return sum(held[package_id].values())

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

from django.db.models import Q, Sum

from .models import DownloadMonth

MISSING = -1
_STRUCTS = {n: struct.Struct(f">{n}q") for n in range(28, 32)}

# (category_id, first day of the month) -> one value per day of the month, MISSING where not held.
Months = dict[tuple[int, dt.date], list[int]]


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
) -> Iterator[tuple[int, int, str, dt.date, int]]:
    """Held points as (package_id, metric, category name, date, downloads), in ONE query.

    Ordered by package, category and date. `metrics` and `category` (a name) narrow
    the categories; `start`/`end` (inclusive, either open) the dates. On PostgreSQL
    the months side is an index-only scan of the covering primary key.
    """
    query = Q(package_id__in=list(package_ids)) & _month_range(start, end)
    if metrics is not None:
        query &= Q(category__metric__in=[int(m) for m in metrics])
    if category is not None:
        query &= Q(category__name=category)
    rows = (
        DownloadMonth.objects.filter(query)
        .order_by("package_id", "category_id", "month")
        .values_list("package_id", "category__metric", "category__name", "month", "days")
    )
    for package_id, metric, name, month, blob in rows:
        for date, downloads in month_points(month, blob, start, end):
            yield package_id, metric, name, date, downloads


def by_package(
    *,
    package_ids: Iterable[int],
    metric: int,
    category: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[int, dict[dt.date, int]]:
    """One category's points of several packages: {package_id: {date: downloads}}, one query."""
    ids = list(package_ids)
    result: dict[int, dict[dt.date, int]] = {pk: {} for pk in ids}
    for package_id, _, _, date, downloads in read(
        package_ids=ids, metrics=[metric], category=category, start=start, end=end
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

    One portable bulk upsert (INSERT ... ON CONFLICT DO UPDATE on SQLite and
    PostgreSQL). Callers hold the package's row lock, as refresh_package does.
    """
    rows = []
    emptied: list[Q] = []
    for (category_id, month), values in months.items():
        held = sum(1 for value in values if value != MISSING)
        if held:
            rows.append(
                DownloadMonth(
                    package_id=package_id,
                    category_id=category_id,
                    month=month,
                    held=held,
                    days=encode(values),
                )
            )
        else:
            emptied.append(Q(category_id=category_id, month=month))
    if rows:
        DownloadMonth.objects.bulk_create(
            rows,
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


def put(package_id: int, rows: Iterable[tuple[int, dt.date, int]]) -> None:
    """Store (category_id, date, downloads) points, overwriting any held for those days.

    For seeding (the benchmarks, the tests); refreshes diff and save through
    services.refresh_package, which applies upstream's rules first.
    """
    rows = list(rows)
    if not rows:
        return
    dates = [date for _, date, _ in rows]
    months = load(package_id, month_of(min(dates)), month_of(max(dates)))
    changed: Months = {}
    for category_id, date, downloads in rows:
        if downloads < 0:
            raise ValueError(f"downloads cannot be negative: {downloads}")
        key = (category_id, month_of(date))
        values = months.get(key) or empty_month(key[1])
        values[date.day - 1] = downloads
        months[key] = changed[key] = values
    save(package_id, changed)


def put_many(rows_by_package: Mapping[int, Iterable[tuple[int, dt.date, int]]]) -> None:
    for package_id, rows in rows_by_package.items():
        put(package_id, rows)


def count(package_id: int) -> int:
    """How many points the package holds."""
    total = DownloadMonth.objects.filter(package_id=package_id).aggregate(n=Sum("held"))["n"]
    return int(total or 0)

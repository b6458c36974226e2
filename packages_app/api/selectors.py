"""Reads behind the compatible JSON API: one raw SQL statement per read, no model instances.

Every read that produces an answer is a single SELECT that returns the package's
row (its data_version, window and last refresh) together with the points. One
statement sees one snapshot of the database on PostgreSQL (even under READ
COMMITTED) and on SQLite, so the bytes built from it and the data_version they
are cached under can never mix a state before a refresh with one after it
(docs/decisions.md, "JSON API: one statement per answer").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from packages_app.models import (
    Category,
    DownloadMonth,
    Metric,
    Package,
    RecentDownloads,
    Source,
)
from packages_app.store import points

# Upstream's purge keeps the ETL date and the 180 days before it: 181 dates.
DEFAULT_WINDOW_DAYS = 180

_PACKAGE = Package._meta.db_table
_MONTH = DownloadMonth._meta.db_table
_CATEGORY = Category._meta.db_table
_RECENT = RecentDownloads._meta.db_table


@dataclass(frozen=True, slots=True)
class PackageMeta:
    """What the API needs to know about a package before it reads any point."""

    id: int
    data_version: int
    last_refreshed_at: dt.datetime | None
    # The latest date held for ANY package: upstream's ETL date, where its purge horizon
    # (the default window) ends. An answer in that window depends on it as much as on
    # data_version: it moves when another package's refresh brings a newer day.
    etl_date: dt.date | None


@dataclass(frozen=True, slots=True)
class Recent:
    meta: PackageMeta
    last_day: int | None
    last_week: int | None
    last_month: int | None


@dataclass(frozen=True, slots=True)
class Series:
    meta: PackageMeta
    # (category, date, downloads), in upstream's order.
    rows: list[tuple[str, dt.date | str, int]]


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite without a declared converter
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def _date(value: dt.date | str | None) -> dt.date | None:
    if isinstance(value, str):  # SQLite returns dates as ISO text
        return dt.date.fromisoformat(value)
    return value


# The ETL date as a scalar subquery: one probe of the pkg_latest_date index.
_ETL_DATE = f"(SELECT max(latest_date) FROM {_PACKAGE})"


def package_meta(name: str) -> PackageMeta | None:
    """The package's id, data_version, last refresh and the ETL date, or None when we do not
    hold it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, data_version, last_refreshed_at, {_ETL_DATE} "
            f"FROM {_PACKAGE} WHERE name = %s",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return PackageMeta(row[0], row[1], _aware(row[2]), _date(row[3]))


def package_recent(name: str) -> Recent | None:
    """The package's `recent` numbers and its meta in one statement (None: not held)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.data_version, p.last_refreshed_at, {_ETL_DATE}, "
            f"r.last_day, r.last_week, r.last_month "
            f"FROM {_PACKAGE} p LEFT JOIN {_RECENT} r ON r.package_id = p.id "
            f"WHERE p.name = %s",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    meta = PackageMeta(row[0], row[1], _aware(row[2]), _date(row[3]))
    return Recent(meta, row[4], row[5], row[6])


def package_series(
    name: str,
    metric: Metric,
    *,
    categories: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Series | None:
    """The package's points of one metric, with its meta, in one statement.

    `categories` restricts to those exact category names. With neither `start`
    nor `end`, the window is upstream's purge horizon, which is global: the ETL date
    (the latest date held for any package) and the 180 days before it, upstream's
    points only (so the answer is upstream's bytes whatever ClickHouse filled, and a
    package whose data stops earlier shows only the days upstream still holds). With
    either, the window is exactly [start, end], an open end reaching all history held,
    and the days before the package's first upstream day come from ClickHouse (the rule
    of points.read). None when we do not hold the package.
    """
    default_window = start is None and end is None
    params: list[Any] = [int(metric)]
    category_sql = ""
    if categories is not None:
        names = list(categories)
        if not names:
            # A filter that can match nothing: no point can be read.
            category_sql = " AND 1 = 0"
        else:
            category_sql = " AND name IN (" + ", ".join(["%s"] * len(names)) + ")"
            params.extend(names)
    if default_window:
        category_sql += f" AND source = {int(Source.UPSTREAM)}"
    sqlite = connection.vendor == "sqlite"
    # The SQL narrows to whole months; the exact days are cut from them below.
    if default_window:
        if sqlite:
            window_sql = (
                f" AND m.month >= date({_ETL_DATE}, '-{DEFAULT_WINDOW_DAYS} days', 'start of month')"
                f" AND m.month <= {_ETL_DATE}"
            )
        else:
            window_sql = (
                f" AND m.month >= date_trunc('month', {_ETL_DATE} - {DEFAULT_WINDOW_DAYS})::date"
                f" AND m.month <= {_ETL_DATE}"
            )
    else:
        window_sql = ""
        # SQLite stores dates as ISO text; PostgreSQL takes the date itself.
        as_param = str if sqlite else (lambda d: d)
        if start is not None:
            window_sql += " AND m.month >= %s"
            params.append(as_param(points.month_of(start)))
        if end is not None:
            window_sql += " AND m.month <= %s"
            params.append(as_param(end))
    params.append(name)
    # The package row once (kind 0), then its months (kind 1): a UNION ALL is still one
    # statement, one snapshot, and the meta columns (a timestamptz that Django parses
    # in Python) are not repeated on every month row.
    # Months come in upstream's order, category case-insensitively then date:
    # lower() in byte order is casefold() for the ASCII names upstream uses, under any
    # database collation.
    byte_order = "" if sqlite else ' COLLATE "C"'

    def typed(sql_type: str) -> str:
        return "" if sqlite else f"::{sql_type}"

    # A month of ClickHouse's sorts before upstream's month of the same category: its days
    # there are all before the boundary, so the points stay in date order.
    sql = (
        f"SELECT 0 AS kind, p.id, p.data_version, p.last_refreshed_at, "
        f"NULL{typed('text')} AS category, {_ETL_DATE} AS day, "
        f"NULL{typed('bytea')} AS days, NULL{typed('text')} AS sort_name, "
        f"p.first_date AS first_day, NULL{typed('smallint')} AS source "
        f"FROM {_PACKAGE} p WHERE p.name = %s "
        f"UNION ALL "
        f"SELECT 1, NULL, NULL, NULL, c.name, m.month, m.days, lower(c.name){byte_order}, "
        f"NULL, c.source "
        f"FROM {_PACKAGE} p "
        f"JOIN {_MONTH} m ON m.package_id = p.id "
        f"AND m.category_id IN (SELECT id FROM {_CATEGORY} WHERE metric = %s{category_sql})"
        f"{window_sql} "
        f"JOIN {_CATEGORY} c ON c.id = m.category_id "
        f"WHERE p.name = %s "
        f"ORDER BY kind, sort_name, day, source DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [name, *params])
        fetched = cursor.fetchall()
    if not fetched or fetched[0][0] != 0:
        return None
    first = fetched[0]
    etl_date = _date(first[5])
    meta = PackageMeta(first[1], first[2], _aware(first[3]), etl_date)
    first_day = _date(first[8])
    if default_window:
        if etl_date is None:
            return Series(meta, [])
        start, end = etl_date - dt.timedelta(days=DEFAULT_WINDOW_DAYS), etl_date
    rows: list[tuple[str, dt.date | str, int]] = []
    for row in fetched[1:]:
        category = row[4]
        month = _date(row[5])
        assert month is not None  # a month row always has its month
        last = end
        if row[9] != Source.UPSTREAM and first_day is not None:
            before = first_day - dt.timedelta(days=1)
            last = before if end is None else min(end, before)
        rows.extend(
            (category, date, downloads)
            for date, downloads in points.month_points(month, row[6], start, last)
        )
    return Series(meta, rows)

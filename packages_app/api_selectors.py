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

from .models import Category, DownloadPoint, Metric, Package, RecentDownloads

# Upstream's purge keeps the ETL date and the 180 days before it: 181 dates.
DEFAULT_WINDOW_DAYS = 180

_PACKAGE = Package._meta.db_table
_POINT = DownloadPoint._meta.db_table
_CATEGORY = Category._meta.db_table
_RECENT = RecentDownloads._meta.db_table


@dataclass(frozen=True, slots=True)
class PackageMeta:
    """What the API needs to know about a package before it reads any point."""

    id: int
    data_version: int
    last_refreshed_at: dt.datetime | None


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


def package_meta(name: str) -> PackageMeta | None:
    """The package's id, data_version and last refresh, or None when we do not hold it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, data_version, last_refreshed_at FROM {_PACKAGE} WHERE name = %s", [name]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return PackageMeta(row[0], row[1], _aware(row[2]))


def package_recent(name: str) -> Recent | None:
    """The package's `recent` numbers and its meta in one statement (None: not held)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id, p.data_version, p.last_refreshed_at, "
            f"r.last_day, r.last_week, r.last_month "
            f"FROM {_PACKAGE} p LEFT JOIN {_RECENT} r ON r.package_id = p.id "
            f"WHERE p.name = %s",
            [name],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return Recent(PackageMeta(row[0], row[1], _aware(row[2])), row[3], row[4], row[5])


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
    nor `end`, the window is upstream's: the package's latest date held and the
    180 days before it. With either, the window is exactly [start, end], an
    open end reaching all history held. None when we do not hold the package.
    """
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
    if start is None and end is None:
        if connection.vendor == "sqlite":
            window_sql = (
                f" AND d.date >= date(p.latest_date, '-{DEFAULT_WINDOW_DAYS} days')"
                " AND d.date <= p.latest_date"
            )
        else:
            window_sql = (
                f" AND d.date >= p.latest_date - {DEFAULT_WINDOW_DAYS} AND d.date <= p.latest_date"
            )
    else:
        window_sql = ""
        # SQLite stores dates as ISO text; PostgreSQL takes the date itself.
        as_param = str if connection.vendor == "sqlite" else (lambda d: d)
        if start is not None:
            window_sql += " AND d.date >= %s"
            params.append(as_param(start))
        if end is not None:
            window_sql += " AND d.date <= %s"
            params.append(as_param(end))
    params.append(name)
    sqlite = connection.vendor == "sqlite"
    # The package row once (kind 0), then its points (kind 1): a UNION ALL is still one
    # statement, one snapshot, and the meta columns (a timestamptz that Django parses
    # in Python) are not repeated on thousands of point rows.
    # Points come in upstream's order, category case-insensitively then date
    # (wire.row_sort_key): lower() in byte order is casefold() for the ASCII names
    # upstream uses, under any database collation.
    byte_order = "" if sqlite else ' COLLATE "C"'
    sql = (
        f"SELECT 0 AS kind, p.id, p.data_version, p.last_refreshed_at, "
        f"NULL{'' if sqlite else '::text'} AS category, NULL{'' if sqlite else '::date'} AS day, "
        f"NULL{'' if sqlite else '::bigint'} AS downloads, NULL{'' if sqlite else '::text'} AS sort_name "
        f"FROM {_PACKAGE} p WHERE p.name = %s "
        f"UNION ALL "
        f"SELECT 1, NULL, NULL, NULL, c.name, d.date, d.downloads, lower(c.name){byte_order} "
        f"FROM {_PACKAGE} p "
        f"JOIN {_POINT} d ON d.package_id = p.id "
        f"AND d.category_id IN (SELECT id FROM {_CATEGORY} WHERE metric = %s{category_sql})"
        f"{window_sql} "
        f"JOIN {_CATEGORY} c ON c.id = d.category_id "
        f"WHERE p.name = %s "
        f"ORDER BY kind, sort_name, day"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [name, *params])
        fetched = cursor.fetchall()
    if not fetched or fetched[0][0] != 0:
        return None
    first = fetched[0]
    meta = PackageMeta(first[1], first[2], _aware(first[3]))
    rows = [(r[4], r[5], r[6]) for r in fetched[1:]]
    return Series(meta, rows)

"""What the site asks ClickHouse, and how the answers become upstream's series.

The ONE catalogue of ClickPy's pre-aggregated views (VIEWS) and the rule that picks one:
the smallest view whose columns cover the question (ClickPy's own rule). Every series
query reads `sum(count)` with a GROUP BY: the views are SummingMergeTree, whose rows with
one key merge only some time after insert.

The series are upstream's (reference/clickhouse-pypi.md, "Definitions"):
- overall: `with_mirrors` counts every download; `without_mirrors` leaves out the mirror
  installers (bandersnatch, z3c.pypimirror, Artifactory, devpi) AND downloads with no
  installer (pypistats.org's `NOT IN` fails on NULL), rebuilt exactly from the installer view;
- python_major, python_minor, system: ClickHouse's Python and system views carry no
  installer, so they count mirror downloads too, which have no Python version or system.
  ClickHouse spells an unknown value '' (LowCardinality(String), never NULL); it becomes
  upstream's `null` less that day's mirror downloads, which is upstream's `null` exactly when
  mirror downloads carry no Python or system (docs/decisions.md, "ClickHouse's series").
  Systems other than Linux, Windows and Darwin add up to upstream's `other`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from packages_app.categories import UNKNOWN
from packages_app.history.client import ClickHouseClient, ClickHouseUnavailable, Row
from packages_app.models import Metric


@dataclass(frozen=True)
class View:
    table: str
    columns: frozenset[str]


def _view(table: str, *columns: str) -> View:
    return View(table, frozenset(columns))


# ClickPy's per-day views, smallest first (rows per project and day: one; one per version;
# then per version and system, file type, Python minor, installer and type, country...).
VIEWS: tuple[View, ...] = (
    _view("pypi_downloads_per_day", "date", "project"),
    _view("pypi_downloads_per_day_by_version", "date", "project", "version"),
    _view("pypi_downloads_per_day_by_version_by_system", "date", "project", "version", "system"),
    _view("pypi_downloads_per_day_by_version_by_file_type", "date", "project", "version", "type"),
    _view(
        "pypi_downloads_per_day_by_version_by_python",
        "date",
        "project",
        "version",
        "python_minor",
    ),
    _view(
        "pypi_downloads_per_day_by_version_by_installer_by_type",
        "date",
        "project",
        "version",
        "installer",
        "type",
    ),
    _view(
        "pypi_downloads_per_day_by_version_by_country",
        "date",
        "project",
        "version",
        "country_code",
    ),
    _view(
        "pypi_downloads_per_day_by_version_by_python_by_country",
        "date",
        "project",
        "version",
        "python_minor",
        "country_code",
    ),
    _view(
        "pypi_downloads_per_day_by_version_by_system_by_country",
        "date",
        "project",
        "version",
        "system",
        "country_code",
    ),
    _view(
        "pypi_downloads_per_day_by_version_by_installer_by_type_by_country",
        "date",
        "project",
        "version",
        "installer",
        "type",
        "country_code",
    ),
)
# The latest and first day ClickHouse holds per project (AggregatingMergeTree).
MAX_MIN = "pypi_downloads_max_min"

# pypistats.org's mirror installers; '' (no installer) fails its NOT IN as well.
MIRROR_INSTALLERS: tuple[str, ...] = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi", "")
UPSTREAM_SYSTEMS = frozenset({"Linux", "Windows", "Darwin"})
OTHER_SYSTEM = "other"
_PYTHON_VERSION = re.compile(r"\A\d{1,3}(\.\d{1,3})?\Z")


def view_for(columns: Iterable[str]) -> str:
    """The smallest view holding every column the question needs."""
    needed = frozenset(columns)
    for view in VIEWS:
        if needed <= view.columns:
            return view.table
    raise ValueError(f"no view holds {sorted(needed)}")


def literal_list(values: Iterable[str]) -> str:
    # Our own constants, never user input (that is always a typed parameter).
    return ", ".join(
        "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" for value in values
    )


OVERALL_SQL = (
    "SELECT date, sum(count), sumIf(count, installer NOT IN ("
    + literal_list(MIRROR_INSTALLERS)
    + f")) FROM {view_for(['date', 'project', 'installer'])}"
    " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"
    " GROUP BY date ORDER BY date"
)
PYTHON_MAJOR_SQL = (
    "SELECT date, splitByChar('.', python_minor)[1] AS major, sum(count)"
    f" FROM {view_for(['date', 'project', 'python_minor'])}"
    " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"
    " GROUP BY date, major ORDER BY date, major"
)
PYTHON_MINOR_SQL = (
    "SELECT date, python_minor, sum(count)"
    f" FROM {view_for(['date', 'project', 'python_minor'])}"
    " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"
    " GROUP BY date, python_minor ORDER BY date, python_minor"
)
SYSTEM_SQL = (
    "SELECT date, system, sum(count)"
    f" FROM {view_for(['date', 'project', 'system'])}"
    " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"
    " GROUP BY date, system ORDER BY date, system"
)
DATES_SQL = (
    f"SELECT min(min_date), max(max_date) FROM {MAX_MIN}"
    " WHERE project = {p:String} GROUP BY project"
)

# (metric, category as upstream spells it, date) -> downloads
Points = dict[tuple[Metric, str, dt.date], int]


@dataclass(frozen=True)
class Dates:
    first: dt.date
    latest: dt.date


def as_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise ClickHouseUnavailable(f"a date is not a string: {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ClickHouseUnavailable(f"not a date: {value!r}") from None


def as_count(value: object) -> int:
    # Int64 arrives as a JSON number (output_format_json_quote_64bit_integers=0); a quoted
    # one is accepted too, anything else is a broken answer.
    if isinstance(value, bool):
        raise ClickHouseUnavailable(f"not a count: {value!r}")
    if isinstance(value, int):
        count = value
    elif isinstance(value, str) and value.isdigit():
        count = int(value)
    else:
        raise ClickHouseUnavailable(f"not a count: {value!r}")
    if count < 0:
        raise ClickHouseUnavailable(f"a negative count: {count}")
    return count


def shaped(rows: list[Row], width: int) -> list[Row]:
    for row in rows:
        if len(row) != width:
            raise ClickHouseUnavailable(f"a row of {len(row)} columns, not {width}")
    return rows


def package_dates(client: ClickHouseClient, name: str) -> Dates | None:
    """ClickHouse's first and latest day for the package (None: it has never seen it)."""
    rows = shaped(client.select(DATES_SQL, {"p": name}), 2)
    if not rows:
        return None
    first, latest = as_date(rows[0][0]), as_date(rows[0][1])
    if latest < first:
        raise ClickHouseUnavailable(f"latest day {latest} before first day {first}")
    return Dates(first, latest)


def _params(name: str, since: dt.date, through: dt.date) -> dict[str, str]:
    return {"p": name, "since": since.isoformat(), "through": through.isoformat()}


# A handful of distinct values, tens of thousands of rows: decide each value once.
@lru_cache(maxsize=1024)
def _python_category(value: str) -> str:
    return value if value and _PYTHON_VERSION.match(value) else UNKNOWN


@lru_cache(maxsize=1024)
def _system_category(value: str) -> str:
    if not value:
        return UNKNOWN
    return value if value in UPSTREAM_SYSTEMS else OTHER_SYSTEM


# The breakdowns: their SQL and how a ClickHouse value becomes upstream's category.
BREAKDOWNS: dict[Metric, tuple[str, Callable[[str], str]]] = {
    Metric.PYTHON_MAJOR: (PYTHON_MAJOR_SQL, _python_category),
    Metric.PYTHON_MINOR: (PYTHON_MINOR_SQL, _python_category),
    Metric.SYSTEM: (SYSTEM_SQL, _system_category),
}


def overall_series(client: ClickHouseClient, name: str, since: dt.date, through: dt.date) -> Points:
    """with_mirrors and without_mirrors over [since, through]: 1 query."""
    return _overall_points(shaped(client.select(OVERALL_SQL, _params(name, since, through)), 3))


def _overall_points(rows: Iterable[Row]) -> Points:
    """Rows of (date, every download, without mirrors) as the overall series."""
    result: Points = {}
    for row in rows:
        day, everything, without = as_date(row[0]), as_count(row[1]), as_count(row[2])
        if without > everything:
            raise ClickHouseUnavailable(f"{day}: without mirrors above with mirrors")
        result[(Metric.OVERALL, "with_mirrors", day)] = everything
        result[(Metric.OVERALL, "without_mirrors", day)] = without
    return result


def mirror_downloads(
    with_mirrors: Mapping[dt.date, int], without_mirrors: Mapping[dt.date, int]
) -> dict[dt.date, int]:
    """Each day's mirror downloads (with - without): what a breakdown's '' counts beyond
    upstream's `null`."""
    return {day: n - without_mirrors.get(day, 0) for day, n in with_mirrors.items()}


def _mirrors_of(overall: Points) -> dict[dt.date, int]:
    with_mirrors: dict[dt.date, int] = {}
    without_mirrors: dict[dt.date, int] = {}
    for (_, category, day), downloads in overall.items():
        (with_mirrors if category == "with_mirrors" else without_mirrors)[day] = downloads
    return mirror_downloads(with_mirrors, without_mirrors)


def breakdown_series(
    client: ClickHouseClient,
    name: str,
    metric: Metric,
    since: dt.date,
    through: dt.date,
    *,
    mirrors: Mapping[dt.date, int] | None,
) -> Points:
    """One breakdown (python_major, python_minor or system) over [since, through]: 1 query.

    Upstream's `null` is ClickHouse's unknown less that day's mirror downloads, so it needs
    `mirrors` (mirror_downloads); with None it is left out."""
    sql = BREAKDOWNS[metric][0]
    rows = shaped(client.select(sql, _params(name, since, through)), 3)
    return _breakdown_points(metric, rows, mirrors)


def _breakdown_points(
    metric: Metric, rows: Iterable[Row], mirrors: Mapping[dt.date, int] | None
) -> Points:
    """Rows of (date, ClickHouse's value, downloads) as one breakdown in upstream's categories."""
    categorise = BREAKDOWNS[metric][1]
    sums: dict[tuple[str, dt.date], int] = defaultdict(int)
    for row in rows:
        value = row[1]
        if not isinstance(value, str):
            raise ClickHouseUnavailable(f"a category is not a string: {value!r}")
        sums[(categorise(value), as_date(row[0]))] += as_count(row[2])
    result: Points = {}
    for (category, day), downloads in sums.items():
        if category == UNKNOWN:
            if mirrors is None:
                continue
            # Mirror downloads carry no Python or system: upstream leaves them out.
            downloads = max(downloads - mirrors.get(day, 0), 0)
        if downloads:  # upstream has no row for a category nobody downloaded with
            result[(metric, category, day)] = downloads
    return result


def package_series(client: ClickHouseClient, name: str, since: dt.date, through: dt.date) -> Points:
    """The package's four series over [since, through], upstream's categories: 4 queries
    (the backfill: one answer per series keeps each of ten years' bodies moderate)."""
    result = overall_series(client, name, since, through)
    mirrors = _mirrors_of(result)
    for metric in BREAKDOWNS:
        result.update(breakdown_series(client, name, metric, since, through, mirrors=mirrors))
    return result


# The same series as branches of ONE query (UNION ALL), for the pages: a cold page of a
# package nobody tracks must not spend its request budget on four round trips. Each branch
# is (metric, date, category, downloads, without mirrors); our own SQL, parameters typed.
_WHERE = " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"
SERIES_BRANCHES: dict[Metric, str] = {
    Metric.OVERALL: (
        f"SELECT {int(Metric.OVERALL)} AS metric, date, '' AS category, sum(count) AS downloads,"
        " sumIf(count, installer NOT IN ("
        + literal_list(MIRROR_INSTALLERS)
        + f")) AS without FROM {view_for(['date', 'project', 'installer'])}"
        + _WHERE
        + " GROUP BY date"
    ),
    Metric.PYTHON_MAJOR: (
        f"SELECT {int(Metric.PYTHON_MAJOR)}, date, splitByChar('.', python_minor)[1] AS major,"
        f" sum(count), 0 FROM {view_for(['date', 'project', 'python_minor'])}"
        + _WHERE
        + " GROUP BY date, major"
    ),
    Metric.PYTHON_MINOR: (
        f"SELECT {int(Metric.PYTHON_MINOR)}, date, python_minor, sum(count), 0"
        f" FROM {view_for(['date', 'project', 'python_minor'])}"
        + _WHERE
        + " GROUP BY date, python_minor"
    ),
    Metric.SYSTEM: (
        f"SELECT {int(Metric.SYSTEM)}, date, system, sum(count), 0"
        f" FROM {view_for(['date', 'project', 'system'])}" + _WHERE + " GROUP BY date, system"
    ),
}


def series_sql(metrics: Iterable[Metric]) -> str:
    """One query reading the given series' branches (in Metric order)."""
    wanted = set(metrics)
    return " UNION ALL ".join(sql for metric, sql in SERIES_BRANCHES.items() if metric in wanted)


def series_at_once(
    client: ClickHouseClient,
    name: str,
    since: dt.date,
    through: dt.date,
    metrics: Iterable[Metric],
    *,
    unknown: bool = True,
) -> Points:
    """The asked series over [since, through] in ONE query, as package_series reads them.

    A breakdown's `null` needs the overall series (its mirror downloads): with `unknown`
    it is read along (one branch more, still one query); without, `null` is left out
    unless overall is asked anyway."""
    asked = set(metrics)
    if unknown and asked - {Metric.OVERALL}:
        asked.add(Metric.OVERALL)
    by_metric: dict[int, list[Row]] = defaultdict(list)
    for row in shaped(client.select(series_sql(asked), _params(name, since, through)), 5):
        by_metric[_metric_of(row[0])].append([row[1], row[2], row[3], row[4]])
    result: Points = {}
    mirrors: dict[dt.date, int] | None = None
    if Metric.OVERALL in asked:
        result = _overall_points([d, n, without] for d, _, n, without in by_metric[Metric.OVERALL])
        mirrors = _mirrors_of(result)
    for metric in BREAKDOWNS:
        if metric in asked:
            rows = ([d, c, n] for d, c, n, _ in by_metric[metric])
            result.update(_breakdown_points(metric, rows, mirrors))
    return result


def _metric_of(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value not in SERIES_BRANCHES:
        raise ClickHouseUnavailable(f"not a series: {value!r}")
    return value


# --- untracked packages: read live by the pages -------------------------------------------------

# ClickPy's pypi_downloads: one row per project with its every download (SummingMergeTree,
# hence sum(count) with a GROUP BY); its ORDER BY is the project, so a prefix reads little.
PREFIX_SQL = (
    "SELECT project, sum(count) AS total FROM pypi_downloads"
    " WHERE startsWith(project, {prefix:String})"
    " GROUP BY project ORDER BY total DESC, project LIMIT {limit:UInt32}"
)


@dataclass(frozen=True)
class AllTime:
    with_mirrors: int
    without_mirrors: int


# A page's first question in one query: the package's first and latest day and its
# all-time totals (no row: ClickHouse has never seen it).
SUMMARY_SQL = (
    "SELECT d.first, d.latest, t.everything, t.without FROM"
    f" (SELECT min(min_date) AS first, max(max_date) AS latest FROM {MAX_MIN}"
    " WHERE project = {p:String} GROUP BY project) AS d"
    " CROSS JOIN (SELECT sum(count) AS everything, sumIf(count, installer NOT IN ("
    + literal_list(MIRROR_INSTALLERS)
    + f")) AS without FROM {view_for(['date', 'project', 'installer'])}"
    " WHERE project = {p:String} GROUP BY project) AS t"
)


def package_summary(client: ClickHouseClient, name: str) -> tuple[Dates, AllTime] | None:
    """The package's first and latest day and every download it has: 1 query (None: it
    has never been seen)."""
    rows = shaped(client.select(SUMMARY_SQL, {"p": name}), 4)
    if not rows:
        return None
    first, latest = as_date(rows[0][0]), as_date(rows[0][1])
    if latest < first:
        raise ClickHouseUnavailable(f"latest day {latest} before first day {first}")
    everything, without = as_count(rows[0][2]), as_count(rows[0][3])
    if without > everything:
        raise ClickHouseUnavailable("all-time: without mirrors above with mirrors")
    return Dates(first, latest), AllTime(everything, without)


def projects_with_prefix(
    client: ClickHouseClient, prefix: str, limit: int
) -> list[tuple[str, int]]:
    """(project, every download) of the projects whose name starts with `prefix`, biggest first."""
    rows = shaped(client.select(PREFIX_SQL, {"prefix": prefix, "limit": str(limit)}), 2)
    found: list[tuple[str, int]] = []
    for row in rows:
        if not isinstance(row[0], str):
            raise ClickHouseUnavailable(f"a project is not a string: {row[0]!r}")
        found.append((row[0], as_count(row[1])))
    return found

"""What the site asks ClickHouse about versions, installers and countries (issue #16).

The upstream API never had these breakdowns; ClickPy's views do. Like queries.py, every
query here reads the smallest view covering its columns (queries.view_for), sums `count`
with a GROUP BY (SummingMergeTree), binds user input as typed parameters only and goes
through the one client (budget, retries, quota). What they count:

- versions and countries: every download (ClickPy's version and country views carry no
  installer, so mirror downloads are in them, as on ClickPy);
- installers: downloads without mirrors (pypistats.org's definition, the site's headline
  number): the mirror installers and downloads with no installer are left out, so "uv's
  share" is a share of the installs people made.

A long tail is capped in ClickHouse, not in Python: the top `top` keys over the window
keep their own series and the rest arrive summed under OTHER, so a package with 900
versions answers in (days x (top + 1)) rows at most.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from enum import StrEnum

from packages_app.history.client import ClickHouseClient, ClickHouseUnavailable, Row
from packages_app.history.queries import (
    MIRROR_INSTALLERS,
    as_count,
    as_date,
    literal_list,
    shaped,
    view_for,
)

# The key the capped tail is summed under (no version, installer or country code reads so).
OTHER = "other"
# ClickHouse spells an unknown country '' (LowCardinality(String), never NULL).
UNKNOWN_COUNTRY = ""
# The installers the charts name; every other non-mirror installer is OTHER.
INSTALLERS: tuple[str, ...] = ("pip", "uv", "poetry", "pdm", "pipenv", "conda")
INSTALLER_CATEGORIES: tuple[str, ...] = (*INSTALLERS, OTHER)
MAX_TOP = 20

# key -> day -> downloads
DailyByKey = dict[str, dict[dt.date, int]]


class Grouping(StrEnum):
    """How versions are grouped: "2.3.1" exactly, by minor line "2.3.*", by major "2.*"."""

    EXACT = "exact"
    MINOR = "minor"
    MAJOR = "major"


# The SQL expression of each grouping's key (our constants; never user input).
VERSION_KEY: dict[Grouping, str] = {
    Grouping.EXACT: "version",
    Grouping.MINOR: (
        "if(length(splitByChar('.', version)) >= 2,"
        " concat(arrayStringConcat(arraySlice(splitByChar('.', version), 1, 2), '.'), '.*'),"
        " concat(version, '.*'))"
    ),
    Grouping.MAJOR: "concat(splitByChar('.', version)[1], '.*')",
}
_BETWEEN = " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"


def group_version(version: str, grouping: Grouping) -> str:
    """The key a version is grouped under, as the SQL computes it (for Python-side joins)."""
    parts = version.split(".")
    if grouping is Grouping.MAJOR:
        return parts[0] + ".*"
    if grouping is Grouping.MINOR:
        return ".".join(parts[:2]) + ".*"
    return version


def _top_sql(view: str, key: str) -> str:
    """Daily sums per key, the top {top} keys over the window by name, the rest as OTHER."""
    top = (
        f"SELECT {key} AS k FROM {view}{_BETWEEN}"
        " GROUP BY k ORDER BY sum(count) DESC, k LIMIT {top:UInt32}"
    )
    return (
        f"SELECT date, if(k IN ({top}), k, '{OTHER}') AS key, sum(count)"
        f" FROM (SELECT date, {key} AS k, count FROM {view}{_BETWEEN})"
        " GROUP BY date, key ORDER BY date, key"
    )


VERSION_VIEW = view_for(["date", "project", "version"])
VERSION_SQL: dict[Grouping, str] = {g: _top_sql(VERSION_VIEW, k) for g, k in VERSION_KEY.items()}
COUNTRY_SQL = _top_sql(view_for(["date", "project", "country_code"]), "country_code")
INSTALLER_SQL = (
    "SELECT date, if(installer IN (" + literal_list(INSTALLERS) + f"), installer, '{OTHER}')"
    " AS key, sum(count)"
    f" FROM {view_for(['date', 'project', 'installer'])}{_BETWEEN}"
    " AND installer NOT IN (" + literal_list(MIRROR_INSTALLERS) + ")"
    " GROUP BY date, key ORDER BY date, key"
)
# Every version's every download (ClickPy's pypi_downloads_by_version: project, version).
VERSION_TOTALS_SQL = (
    "SELECT version, sum(count) AS total FROM pypi_downloads_by_version"
    " WHERE project = {p:String} GROUP BY version"
)
# A release's date is its first file's upload (a wheel and an sdist per release).
RELEASES_SQL = (
    "SELECT version, min(upload_time) FROM projects WHERE name = {p:String}"
    " GROUP BY version ORDER BY min(upload_time), version"
)
COUNTRY_NAMES_SQL = "SELECT code, name FROM countries_dict"
# The day's every download and the given releases' (adoption): ADOPTION_SLOTS versions.
ADOPTION_SLOTS = 5
ADOPTION_SQL = (
    "SELECT date, sum(count), "
    + ", ".join(f"sumIf(count, version = {{v{i}:String}})" for i in range(ADOPTION_SLOTS))
    + f" FROM {VERSION_VIEW}{_BETWEEN} GROUP BY date ORDER BY date"
)


def _params(name: str, since: dt.date, through: dt.date) -> dict[str, str]:
    return {"p": name, "since": since.isoformat(), "through": through.isoformat()}


def as_text(value: object) -> str:
    if not isinstance(value, str):
        raise ClickHouseUnavailable(f"not a string: {value!r}")
    return value


def _daily(rows: list[Row]) -> DailyByKey:
    result: DailyByKey = defaultdict(dict)
    for row in shaped(rows, 3):
        day, key, downloads = as_date(row[0]), as_text(row[1]), as_count(row[2])
        if downloads:
            days = result[key]
            days[day] = days.get(day, 0) + downloads
    return dict(result)


def _top(top: int) -> str:
    if not 1 <= top <= MAX_TOP:
        raise ValueError(f"top must be 1..{MAX_TOP}")
    return str(top)


def version_series(
    client: ClickHouseClient,
    name: str,
    since: dt.date,
    through: dt.date,
    *,
    grouping: Grouping,
    top: int,
) -> DailyByKey:
    """Downloads per day of the `top` biggest versions (grouped) over [since, through], the
    rest under OTHER: 1 query."""
    return _daily(
        client.select(VERSION_SQL[grouping], {**_params(name, since, through), "top": _top(top)})
    )


def installer_series(
    client: ClickHouseClient, name: str, since: dt.date, through: dt.date
) -> DailyByKey:
    """Downloads without mirrors per day and installer (INSTALLER_CATEGORIES): 1 query."""
    return _daily(client.select(INSTALLER_SQL, _params(name, since, through)))


def country_series(
    client: ClickHouseClient, name: str, since: dt.date, through: dt.date, *, top: int
) -> DailyByKey:
    """Downloads per day of the `top` biggest countries (ISO codes; '' unknown) over
    [since, through], the rest under OTHER: 1 query."""
    return _daily(client.select(COUNTRY_SQL, {**_params(name, since, through), "top": _top(top)}))


def version_totals(client: ClickHouseClient, name: str) -> dict[str, int]:
    """Every version's all-time downloads (versions with none are absent): 1 query."""
    found: dict[str, int] = {}
    for row in shaped(client.select(VERSION_TOTALS_SQL, {"p": name}), 2):
        found[as_text(row[0])] = as_count(row[1])
    return found


@dataclass(frozen=True)
class Release:
    version: str
    uploaded: dt.datetime  # UTC, naive: the release's first file

    @property
    def day(self) -> dt.date:
        return self.uploaded.date()


def _datetime(value: object) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(as_text(value))
    except ValueError:
        raise ClickHouseUnavailable(f"not a time: {value!r}") from None


def releases(client: ClickHouseClient, name: str) -> list[Release]:
    """The package's releases from ClickHouse's `projects`, oldest first: 1 query."""
    return [
        Release(as_text(row[0]), _datetime(row[1]))
        for row in shaped(client.select(RELEASES_SQL, {"p": name}), 2)
    ]


def country_names(client: ClickHouseClient) -> dict[str, str]:
    """ISO alpha-2 code -> name, from ClickHouse's countries_dict: 1 query."""
    return {
        as_text(row[0]): as_text(row[1]) for row in shaped(client.select(COUNTRY_NAMES_SQL, {}), 2)
    }


@dataclass(frozen=True)
class AdoptionDays:
    totals: dict[dt.date, int]  # every download of the day
    by_version: DailyByKey  # the asked versions' downloads of the day


def adoption_days(
    client: ClickHouseClient,
    name: str,
    versions: list[str],
    since: dt.date,
    through: dt.date,
) -> AdoptionDays:
    """Each day's downloads, and the given (at most ADOPTION_SLOTS) versions': 1 query."""
    if len(versions) > ADOPTION_SLOTS:
        raise ValueError(f"at most {ADOPTION_SLOTS} versions")
    slots = [*versions, *[""] * (ADOPTION_SLOTS - len(versions))]
    params = {**_params(name, since, through), **{f"v{i}": v for i, v in enumerate(slots)}}
    totals: dict[dt.date, int] = {}
    by_version: DailyByKey = {v: {} for v in versions}
    for row in shaped(client.select(ADOPTION_SQL, params), 2 + ADOPTION_SLOTS):
        day = as_date(row[0])
        totals[day] = as_count(row[1])
        for index, version in enumerate(versions):
            if count := as_count(row[2 + index]):
                by_version[version][day] = count
    return AdoptionDays(totals, by_version)

"""One breakdown category across a list of packages, exactly (issue #16 item 4: compare,
its exports and the watchlist column), in a few queries whatever the list's length.

`breakdown_selectors.series` caps versions and countries at the top 20 keys of the window,
the rest summed as OTHER, one package a query: right for a chart of one package, wrong for
"version 2.* across five packages" or "the newest release of boto3 over a year" (a release of
last week is not among a year's top 20), and ten packages were ten round trips. So here:
- `list_dates`: ClickHouse's first and latest day of every name, one query;
- `many_key_days`: each package's own key (its grouped version, an installer, a country)
  beside the package's daily downloads, one query (Array parameters);
- `list_shares`: a key's share of the last 7 days for a watchlist's column, LATEST resolved
  to each package's newest final release with downloads.
Cached like the layer's answers (source, packages, keys, dates, ClickHouse's latest day).
Raises ClickHouseError when ClickHouse fails, as the layer does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from packages_app import soft_cache
from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import Dates, Grouping, Kind
from packages_app.history.breakdowns import VERSION_KEY, VERSION_VIEW, as_text
from packages_app.history.live import ANSWER_SECONDS, page_client, source_key
from packages_app.history.queries import (
    MIRROR_INSTALLERS,
    as_count,
    as_date,
    literal_list,
    shaped,
    view_for,
)

CACHE_VERSION = "v1"
# "the newest final release" of each package, whatever its number.
LATEST = "latest"

# What a version category may look like: "2.*", "2.3.*" or an exact version as uploaded.
_GROUP_RE = re.compile(r"^[0-9]+(\.[0-9]+)?\.\*\Z")
_EXACT_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.+!_-]{0,63}\Z")


def version_grouping(key: str) -> Grouping | None:
    """The grouping a version category's shape says ("2.*" major, "2.3.*" minor, exact);
    None when it cannot be a version (LATEST is not one: resolve it first)."""
    if _GROUP_RE.match(key):
        return Grouping.MAJOR if key.count(".") == 1 else Grouping.MINOR
    if _EXACT_RE.match(key) and "*" not in key:
        return Grouping.EXACT
    return None


@dataclass(frozen=True)
class KeyDays:
    """One category's downloads per day and the package's (same definition), over a span;
    days with no download are absent."""

    key: dict[dt.date, int]
    total: dict[dt.date, int]


def _cache_key(*parts: object) -> str:
    return ":".join(["chkey", CACHE_VERSION, source_key(), *map(str, parts)])


# --- one category's share of the last week, for a whole list of packages at once -------------

# The last days a list's column covers, ending on ClickHouse's latest day for the list.
LIST_DAYS = 7
LIST_DATES_SECONDS = 10 * 60
_IN_LIST = (
    " WHERE project IN {ps:Array(String)} AND date >= {since:Date} AND date <= {through:Date}"
)
LIST_DATES_SQL = (
    "SELECT project, min(min_date), max(max_date) FROM pypi_downloads_max_min"
    " WHERE project IN {ps:Array(String)} GROUP BY project"
)
LIST_RELEASES_SQL = (
    "SELECT name, version, min(upload_time) FROM projects WHERE name IN {ps:Array(String)}"
    " GROUP BY name, version ORDER BY name, min(upload_time), version"
)
LIST_INSTALLER_SQL = (
    "SELECT project, sum(count), sumIf(count, installer = {k:String})"
    f" FROM {view_for(['date', 'project', 'installer'])}{_IN_LIST}"
    " AND installer NOT IN (" + literal_list(MIRROR_INSTALLERS) + ")"
    " GROUP BY project"
)
# Each project's newest final release and the one before (`vs`, `ws` parallel to `ps`):
# the newest may have no download yet (uploaded on the latest day), then the one before is
# the latest release with downloads, as Adoption.latest_recorded has it.
LIST_VERSION_SQL = (
    "SELECT project, sum(count),"
    " sumIf(count, version = {vs:Array(String)}[indexOf({ps:Array(String)}, project)]),"
    " sumIf(count, version = {ws:Array(String)}[indexOf({ps:Array(String)}, project)])"
    f" FROM {VERSION_VIEW}{_IN_LIST} GROUP BY project"
)


def _array(values: list[str]) -> str:
    """A typed Array(String) parameter's text: ['a','b'] with quotes and backslashes escaped."""
    quoted = ("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
    return "[" + ",".join(quoted) + "]"


@dataclass(frozen=True)
class ListCell:
    """One package's figure in a list's column: the category's percent of its downloads in
    the list's last LIST_DAYS days (None: nothing downloaded, or no release), and the
    release it stands for when the category is LATEST."""

    share: float | None
    version: str | None = None


def _digest(names: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(names))).encode()).hexdigest()[:32]


def list_dates(names: Iterable[str]) -> dict[str, Dates]:
    """ClickHouse's first and latest day of every name it holds (absent: never seen), in
    one query; cached ten minutes, as the layer's own dates."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    dates_key = _cache_key("listdates", _digest(wanted))
    held = soft_cache.get(dates_key)
    if isinstance(held, dict):
        return held
    with page_client() as client:
        rows = client.select(LIST_DATES_SQL, {"ps": _array(wanted)})
    held = {as_text(r[0]): Dates(as_date(r[1]), as_date(r[2])) for r in shaped(rows, 3)}
    soft_cache.set(dates_key, held, LIST_DATES_SECONDS)
    return held


def _many_sql(view: str, expression: str, where: str = "") -> str:
    return (
        "SELECT project, date, sum(count),"
        f" sumIf(count, {expression} = {{ks:Array(String)}}[indexOf({{ps:Array(String)}}, project)])"
        f" FROM {view}{_IN_LIST}{where} GROUP BY project, date ORDER BY project, date"
    )


# Each project's own key (`ks` parallel to `ps`), every day of the span: compare's series.
MANY_VERSION_SQL: dict[Grouping, str] = {
    g: _many_sql(VERSION_VIEW, expression) for g, expression in VERSION_KEY.items()
}
MANY_COUNTRY_SQL = _many_sql(view_for(["date", "project", "country_code"]), "country_code")
MANY_INSTALLER_SQL = _many_sql(
    view_for(["date", "project", "installer"]),
    "installer",
    " AND installer NOT IN (" + literal_list(MIRROR_INSTALLERS) + ")",
)


def many_key_days(
    keys: dict[str, str], held: dict[str, Dates], kind: Kind, start: dt.date, end: dt.date
) -> dict[str, KeyDays]:
    """Each package's own key (name -> key: a grouped version, an installer, a country)
    beside the package's downloads, per day over [start, end]: ONE query for them all,
    cached by the packages, keys, span and ClickHouse's latest day among them. Versions:
    the grouping from the keys' shape (the same for all); installers without mirrors."""
    if not keys:
        return {}
    projects = sorted(keys)
    latest = max(held[p].latest for p in projects)
    if kind is Kind.VERSIONS:
        grouping = version_grouping(keys[projects[0]])
        if grouping is None:
            raise ValueError(f"not a version category: {keys[projects[0]]!r}")
        sql = MANY_VERSION_SQL[grouping]
    elif kind is Kind.INSTALLERS:
        sql = MANY_INSTALLER_SQL
    else:
        sql = MANY_COUNTRY_SQL
    pairs = [f"{p}={keys[p]}" for p in projects]
    cache_key = _cache_key("many", _digest(pairs), latest, kind.value, start, end)
    cached = soft_cache.get(cache_key)
    if isinstance(cached, dict):
        return cached
    params = {
        "ps": _array(projects),
        "ks": _array([keys[p] for p in projects]),
        "since": start.isoformat(),
        "through": end.isoformat(),
    }
    with page_client() as client:
        rows = client.select(sql, params)
    found: dict[str, KeyDays] = {p: KeyDays({}, {}) for p in projects}
    for row in shaped(rows, 4):
        project, day = as_text(row[0]), as_date(row[1])
        days = found.get(project)
        if days is None:
            continue
        if n := as_count(row[2]):
            days.total[day] = n
        if n := as_count(row[3]):
            days.key[day] = n
    soft_cache.set(cache_key, found, ANSWER_SECONDS)
    return found


def list_shares(names: list[str], kind: Kind, key: str) -> dict[str, ListCell]:
    """`key`'s share of each package's downloads over the LIST_DAYS days ending on
    ClickHouse's latest day for the list, for every name ClickHouse holds (absent: never
    seen). Installers (without mirrors) or LATEST (each package's newest final release);
    at most three queries whatever the list's length, cached by the names, the category
    and that day."""
    if not (kind is Kind.INSTALLERS or (kind is Kind.VERSIONS and key == LATEST)):
        raise ValueError(f"no list column for {kind} {key!r}")
    held = list_dates(names)
    if not held:
        return {}
    digest = _digest(held)
    latest = max(d.latest for d in held.values())
    since = latest - dt.timedelta(days=LIST_DAYS - 1)
    answer_key = _cache_key("list", digest, latest, kind.value, key)
    cached = soft_cache.get(answer_key)
    if isinstance(cached, dict):
        return cached
    projects = sorted(held)
    finals: dict[str, list[str]] = {p: [] for p in projects}
    params = {"ps": _array(projects), "since": since.isoformat(), "through": latest.isoformat()}
    with page_client() as client:
        if kind is Kind.INSTALLERS:
            rows = client.select(LIST_INSTALLER_SQL, {**params, "k": key})
            sums = {as_text(r[0]): (as_count(r[1]), as_count(r[2]), 0) for r in shaped(rows, 3)}
        else:
            release_rows = client.select(LIST_RELEASES_SQL, {"ps": _array(projects)})
            for row in shaped(release_rows, 3):
                project, version = as_text(row[0]), as_text(row[1])
                day = dt.datetime.fromisoformat(as_text(row[2])).date()
                if not selectors.is_prerelease(version) and day <= held[project].latest:
                    finals[project].append(version)  # oldest first
            newest = [(finals[p][-1:] or [""])[0] for p in projects]
            before = [(finals[p][-2:-1] or [""])[0] for p in projects]
            params.update(vs=_array(newest), ws=_array(before))
            rows = client.select(LIST_VERSION_SQL, params)
            sums = {
                as_text(r[0]): (as_count(r[1]), as_count(r[2]), as_count(r[3]))
                for r in shaped(rows, 4)
            }
    found: dict[str, ListCell] = {}
    for project in projects:
        whole, mine, previous = sums.get(project, (0, 0, 0))
        release: str | None = None
        if kind is Kind.VERSIONS:
            mine, release = _recorded(finals[project], mine, previous)
        missing = kind is Kind.VERSIONS and release is None
        share = None if missing or not whole else round(100.0 * mine / whole, 2)
        found[project] = ListCell(share, release)
    soft_cache.set(answer_key, found, ANSWER_SECONDS)
    return found


def _recorded(finals: list[str], newest: int, before: int) -> tuple[int, str | None]:
    """The latest release with downloads of the week and its downloads: the newest, or the
    one before it when the newest has none yet."""
    if not finals:
        return 0, None
    if newest or len(finals) < 2 or not before:
        return newest, finals[-1]
    return before, finals[-2]

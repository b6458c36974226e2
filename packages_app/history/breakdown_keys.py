"""One breakdown category of a package, exactly: its daily downloads beside the package's
(issue #16 item 4: compare, exports, watchlist columns and alerts).

`breakdown_selectors.series` caps versions and countries at the top 20 keys of the window,
the rest summed as OTHER: right for a chart of one package, wrong for "version 2.* across
five packages" or "the newest release of boto3 over a year" (a release of last week is
not among a year's top 20). So a single category is asked for by itself here: one query,
one row a day (the key's sum beside the day's total), cached like the layer's answers
(source, package, ClickHouse's latest day, options). Installers are never capped: they
come from the layer's own cached series.

Raises ClickHouseDisabled (source off) and ClickHouseError (it failed), as the layer does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from packages_app import soft_cache
from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import Dates, Grouping, Kind
from packages_app.history.breakdowns import _VERSION_KEY, _VERSION_VIEW, _text
from packages_app.history.live import ANSWER_SECONDS, _client, source_key
from packages_app.history.queries import (
    MIRROR_INSTALLERS,
    _count,
    _date,
    _literal_list,
    _shape,
    view_for,
)

CACHE_VERSION = "v1"
# "the newest final release" of each package, whatever its number.
LATEST = "latest"

_BETWEEN = " WHERE project = {p:String} AND date >= {since:Date} AND date <= {through:Date}"


def _key_sql(view: str, expression: str) -> str:
    return (
        "SELECT date, sum(count), sumIf(count, " + expression + " = {k:String})"
        f" FROM {view}{_BETWEEN} GROUP BY date ORDER BY date"
    )


VERSION_KEY_SQL: dict[Grouping, str] = {
    g: _key_sql(_VERSION_VIEW, expression) for g, expression in _VERSION_KEY.items()
}
COUNTRY_KEY_SQL = _key_sql(view_for(["date", "project", "country_code"]), "country_code")

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


def key_days(name: str, held: Dates, kind: Kind, key: str, start: dt.date, end: dt.date) -> KeyDays:
    """`key`'s downloads and the package's per day over [start, end] (clipped to `held`).

    Installers: without mirrors (the layer's series, every category); versions (the
    grouping from the key's shape) and countries (ISO code, "" unknown): every download,
    mirrors included, one query for the key alone.
    """
    start, end = max(start, held.first), min(end, held.latest)
    if start > end:
        return KeyDays({}, {})
    if kind is Kind.INSTALLERS:
        found = selectors.series(name, held, kind, start, end)
        total: dict[dt.date, int] = {}
        for days in found.values():
            for day, n in days.items():
                total[day] = total.get(day, 0) + n
        return KeyDays(dict(found.get(key, {})), total)
    if kind is Kind.VERSIONS:
        grouping = version_grouping(key)
        if grouping is None:
            raise ValueError(f"not a version category: {key!r}")
        sql = VERSION_KEY_SQL[grouping]
    else:
        sql = COUNTRY_KEY_SQL
    cache_key = _cache_key(name, held.latest, kind.value, key, start, end)
    cached = soft_cache.get(cache_key)
    if isinstance(cached, KeyDays):
        return cached
    params = {"p": name, "since": start.isoformat(), "through": end.isoformat(), "k": key}
    mine: dict[dt.date, int] = {}
    total = {}
    with _client() as client:
        rows = client.select(sql, params)
    for row in _shape(rows, 3):
        day = _date(row[0])
        if n := _count(row[1]):
            total[day] = n
        if n := _count(row[2]):
            mine[day] = n
    found_days = KeyDays(mine, total)
    soft_cache.set(cache_key, found_days, ANSWER_SECONDS)
    return found_days


def latest_release(name: str, held: Dates) -> str | None:
    """The newest final release with downloads recorded (the layer's
    Adoption.latest_recorded: a release uploaded on ClickHouse's latest day may have none
    yet); None when the package lists none with downloads."""
    recorded = selectors.adoption(name, held).latest_recorded
    return recorded.version if recorded else None


def resolve(name: str, held: Dates, kind: Kind, key: str) -> str | None:
    """The key to read: LATEST becomes the package's newest final release (None: none)."""
    if kind is Kind.VERSIONS and key == LATEST:
        return latest_release(name, held)
    return key


def last_days_share(name: str, held: Dates, kind: Kind, key: str, *, days: int = 7) -> float | None:
    """`key`'s percent of the package's downloads over the last `days` days held (LATEST
    resolved), exact even outside the top 20; None when nothing was downloaded or there is
    no such release."""
    resolved = resolve(name, held, kind, key)
    if resolved is None:
        return None
    start = max(held.first, held.latest - dt.timedelta(days=days - 1))
    found = key_days(name, held, kind, resolved, start, held.latest)
    whole = sum(found.total.values())
    if not whole:
        return None
    return round(100.0 * sum(found.key.values()) / whole, 2)


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
    " AND installer NOT IN (" + _literal_list(MIRROR_INSTALLERS) + ")"
    " GROUP BY project"
)
# Each project's newest final release and the one before (`vs`, `ws` parallel to `ps`):
# the newest may have no download yet (uploaded on the latest day), then the one before is
# the latest release with downloads, as Adoption.latest_recorded has it.
LIST_VERSION_SQL = (
    "SELECT project, sum(count),"
    " sumIf(count, version = {vs:Array(String)}[indexOf({ps:Array(String)}, project)]),"
    " sumIf(count, version = {ws:Array(String)}[indexOf({ps:Array(String)}, project)])"
    f" FROM {_VERSION_VIEW}{_IN_LIST} GROUP BY project"
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


def list_shares(names: list[str], kind: Kind, key: str) -> dict[str, ListCell]:
    """`key`'s share of each package's downloads over the LIST_DAYS days ending on
    ClickHouse's latest day for the list, for every name ClickHouse holds (absent: never
    seen). Installers (without mirrors) or LATEST (each package's newest final release);
    at most three queries whatever the list's length, cached by the names, the category
    and that day."""
    if not (kind is Kind.INSTALLERS or (kind is Kind.VERSIONS and key == LATEST)):
        raise ValueError(f"no list column for {kind} {key!r}")
    wanted = sorted(set(names))
    if not wanted:
        return {}
    digest = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:32]
    dates_key = _cache_key("listdates", digest)
    held = soft_cache.get(dates_key)
    if not isinstance(held, dict):
        with _client() as client:
            rows = client.select(LIST_DATES_SQL, {"ps": _array(wanted)})
        held = {_text(r[0]): Dates(_date(r[1]), _date(r[2])) for r in _shape(rows, 3)}
        soft_cache.set(dates_key, held, LIST_DATES_SECONDS)
    if not held:
        return {}
    latest = max(d.latest for d in held.values())
    since = latest - dt.timedelta(days=LIST_DAYS - 1)
    answer_key = _cache_key("list", digest, latest, kind.value, key)
    cached = soft_cache.get(answer_key)
    if isinstance(cached, dict):
        return cached
    projects = sorted(held)
    finals: dict[str, list[str]] = {p: [] for p in projects}
    params = {"ps": _array(projects), "since": since.isoformat(), "through": latest.isoformat()}
    with _client() as client:
        if kind is Kind.INSTALLERS:
            rows = client.select(LIST_INSTALLER_SQL, {**params, "k": key})
            sums = {_text(r[0]): (_count(r[1]), _count(r[2]), 0) for r in _shape(rows, 3)}
        else:
            release_rows = client.select(LIST_RELEASES_SQL, {"ps": _array(projects)})
            for row in _shape(release_rows, 3):
                project, version = _text(row[0]), _text(row[1])
                day = dt.datetime.fromisoformat(_text(row[2])).date()
                if not selectors.is_prerelease(version) and day <= held[project].latest:
                    finals[project].append(version)  # oldest first
            newest = [(finals[p][-1:] or [""])[0] for p in projects]
            before = [(finals[p][-2:-1] or [""])[0] for p in projects]
            params.update(vs=_array(newest), ws=_array(before))
            rows = client.select(LIST_VERSION_SQL, params)
            sums = {
                _text(r[0]): (_count(r[1]), _count(r[2]), _count(r[3])) for r in _shape(rows, 4)
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

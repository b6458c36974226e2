"""Versions, installers and countries of a package, read from ClickHouse and cached (issue #16).

What the pages, the extended JSON API, compare, exports, watchlists and alerts read: ONE
place. Tracked or not, a package's breakdowns come from ClickHouse (the PyPI Stats API has
none), cached, not stored (docs/decisions.md, "Breakdowns: cached, not stored"). Every key
holds the ClickHouse source, the package, the options and ClickHouse's latest day for the
package (history.live.dates, itself cached for ten minutes), so a new day in ClickHouse
makes older answers unreachable and repeated reads within it never query ClickHouse.

Stable signatures (the second half of #16 builds on them; change them only by adding):
- `held(name) -> Dates | None`: ClickHouse's first and latest day (None: never seen);
- `series(name, held, kind, start, end, *, grouping, top) -> DailyByKey`: daily downloads per
  key over [start, end], the top `top` keys plus OTHER;
- `version_table(name, held) -> list[VersionRow]`: every version, newest release first;
- `adoption(name, held) -> Adoption`: the latest release's share of the last 7 days and how
  long each recent release took to reach half of the downloads;
- `country_names() -> dict[str, str]`, `label(kind, key) -> str`.
Raise ClickHouseDisabled when the source is off, ClickHouseError when it fails.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from packaging.version import InvalidVersion, Version

from packages_app import soft_cache
from packages_app.history import breakdowns as queries
from packages_app.history.breakdowns import (
    INSTALLER_CATEGORIES,
    OTHER,
    UNKNOWN_COUNTRY,
    DailyByKey,
    Grouping,
    Release,
)
from packages_app.history.client import ClickHouseDisabled, enabled
from packages_app.history.live import ANSWER_SECONDS, Dates, dates, page_client, source_key

__all__ = [
    "INSTALLER_CATEGORIES",
    "OTHER",
    "UNKNOWN_COUNTRY",
    "Adoption",
    "DailyByKey",
    "Dates",
    "Grouping",
    "Kind",
    "Release",
    "ReleaseAdoption",
    "VersionRow",
    "adoption",
    "country_names",
    "held",
    "label",
    "recent_share",
    "releases",
    "series",
    "version_table",
]

# How many versions and countries keep their own series by default (the palette has 8
# colours; 9 and 10 reuse two dashed); the API lets a client ask for up to MAX_TOP.
DEFAULT_TOP = 8
MAX_TOP = queries.MAX_TOP
# The latest release's share is measured over this many days ending on the latest day.
ADOPTION_WINDOW_DAYS = 7
# Recent releases whose way to half of the downloads is measured (one query at most),
# looking back this far at most.
RECENT_RELEASES = queries.ADOPTION_SLOTS
ADOPTION_LOOKBACK_DAYS = 730
NAMES_SECONDS = 24 * 3600
CACHE_VERSION = "v1"


class Kind(StrEnum):
    VERSIONS = "versions"
    INSTALLERS = "installers"
    COUNTRIES = "countries"


def held(name: str) -> Dates | None:
    """ClickHouse's first and latest day for `name` (None: never seen); cached 10 minutes."""
    return dates(name)


def _key(*parts: object) -> str:
    return ":".join(["chbreak", CACHE_VERSION, source_key(), *map(str, parts)])


def series(
    name: str,
    held: Dates,
    kind: Kind,
    start: dt.date,
    end: dt.date,
    *,
    grouping: Grouping = Grouping.EXACT,
    top: int = DEFAULT_TOP,
) -> DailyByKey:
    """Daily downloads per key over [start, end] (clipped to the days held): versions
    (grouped) and countries (ISO code, UNKNOWN_COUNTRY) capped at the `top` biggest over the
    window plus OTHER; installers as INSTALLER_CATEGORIES, without mirrors. Versions and
    countries count every download, mirrors included. One query, cached."""
    start, end = max(start, held.first), min(end, held.latest)
    if start > end:
        return {}
    if kind is not Kind.VERSIONS:
        grouping = Grouping.EXACT  # not part of the question: one cache entry
    if kind is Kind.INSTALLERS:
        top = len(INSTALLER_CATEGORIES)
    key = _key("series", name, held.latest, kind.value, start, end, grouping.value, top)
    cached = soft_cache.get(key)
    if isinstance(cached, dict):
        return cached
    with page_client() as client:
        if kind is Kind.VERSIONS:
            found = queries.version_series(client, name, start, end, grouping=grouping, top=top)
        elif kind is Kind.INSTALLERS:
            found = queries.installer_series(client, name, start, end)
        else:
            found = queries.country_series(client, name, start, end, top=top)
    soft_cache.set(key, found, ANSWER_SECONDS)
    return found


def releases(name: str, held: Dates) -> list[Release]:
    """The package's releases (ClickHouse's `projects`), oldest first; cached."""
    key = _key("releases", name, held.latest)
    cached = soft_cache.get(key)
    if isinstance(cached, list):
        return cached
    with page_client() as client:
        found = queries.releases(client, name)
    soft_cache.set(key, found, ANSWER_SECONDS)
    return found


def _version_totals(name: str, held: Dates) -> dict[str, int]:
    key = _key("vtotals", name, held.latest)
    cached = soft_cache.get(key)
    if isinstance(cached, dict):
        return cached
    with page_client() as client:
        found = queries.version_totals(client, name)
    soft_cache.set(key, found, ANSWER_SECONDS)
    return found


def version_sort_key(version: str) -> tuple[int, Version | str]:
    """PEP 440 order where the version parses, after every one that does otherwise."""
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def is_prerelease(version: str) -> bool:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return parsed.is_prerelease or parsed.is_devrelease


@dataclass(frozen=True)
class VersionRow:
    version: str
    released: dt.date | None  # None: not in `projects` (yanked metadata, or never listed)
    downloads: int | None  # every download ever; None: none recorded yet

    @property
    def no_downloads_yet(self) -> bool:
        return self.downloads is None


def version_table(name: str, held: Dates) -> list[VersionRow]:
    """Every version: from `projects` and from the downloads (a version may be in one only),
    newest release first, then versions with no release date in version order. Two queries,
    cached."""
    totals = _version_totals(name, held)
    released = {r.version: r.day for r in releases(name, held)}
    versions = set(totals) | set(released)

    def order(version: str) -> tuple[int, dt.date, tuple[int, Version | str]]:
        day = released.get(version)
        return (1 if day else 0, day or dt.date.min, version_sort_key(version))

    return [
        VersionRow(v, released.get(v), totals.get(v))
        for v in sorted(versions, key=order, reverse=True)
    ]


@dataclass(frozen=True)
class ReleaseAdoption:
    version: str
    released: dt.date
    # Percent of the downloads of the last ADOPTION_WINDOW_DAYS days (None: none recorded yet).
    last_week_share: float | None
    # Days from its release to the first day it had half of the day's downloads
    # (None: not yet, or no downloads recorded yet).
    days_to_half: int | None
    downloads_recorded: bool


@dataclass(frozen=True)
class Adoption:
    """ "Adoption of the latest release": `latest` is the newest final release (None: the
    package lists none); `recent` the last RECENT_RELEASES of them, newest first."""

    latest: ReleaseAdoption | None
    recent: list[ReleaseAdoption]
    window_start: dt.date
    window_end: dt.date

    @property
    def latest_recorded(self) -> ReleaseAdoption | None:
        """The newest final release with downloads recorded (the latest may have none yet)."""
        return next((r for r in self.recent if r.downloads_recorded), None)


def adoption(name: str, held: Dates) -> Adoption:
    """The latest release's share of the last 7 days held, and the days each recent final
    release took to reach 50 % of the day's downloads (exact versions, every download).
    Releases from `projects`; one more query for their days; cached."""
    window_end = held.latest
    window_start = max(held.first, window_end - dt.timedelta(days=ADOPTION_WINDOW_DAYS - 1))
    key = _key("adoption", name, held.latest)
    cached = soft_cache.get(key)
    if isinstance(cached, Adoption):
        return cached
    finals = [r for r in releases(name, held) if not is_prerelease(r.version)]
    recent = finals[-RECENT_RELEASES:]
    measured = [r for r in recent if r.day <= held.latest]
    totals: dict[dt.date, int] = {}
    by_version: DailyByKey = {}
    if measured:
        since = max(
            held.first,
            min(r.day for r in measured),
            held.latest - dt.timedelta(days=ADOPTION_LOOKBACK_DAYS),
        )
        with page_client() as client:
            days = queries.adoption_days(
                client, name, [r.version for r in measured], since, held.latest
            )
        totals, by_version = days.totals, days.by_version
    week_total = sum(n for d, n in totals.items() if window_start <= d <= window_end)
    rows: list[ReleaseAdoption] = []
    for release in reversed(recent):
        days_of = by_version.get(release.version, {})
        recorded = bool(days_of)
        week = sum(n for d, n in days_of.items() if window_start <= d <= window_end)
        half = next(
            (
                (day - release.day).days
                for day in sorted(days_of)
                if day >= release.day and 2 * days_of[day] >= totals.get(day, 0) > 0
            ),
            None,
        )
        rows.append(
            ReleaseAdoption(
                version=release.version,
                released=release.day,
                last_week_share=(
                    round(100.0 * week / week_total, 2) if recorded and week_total else None
                ),
                days_to_half=half,
                downloads_recorded=recorded,
            )
        )
    found = Adoption(rows[0] if rows else None, rows, window_start, window_end)
    soft_cache.set(key, found, ANSWER_SECONDS)
    return found


def recent_share(
    name: str, held: Dates, kind: Kind, key: str, *, days: int = ADOPTION_WINDOW_DAYS
) -> float | None:
    """`key`'s percent of the downloads of the last `days` days held (e.g. uv's share of
    installs: kind=INSTALLERS, key="uv"; a version group: kind=VERSIONS, key="2.*" with
    grouping taken from the key's shape); None when nothing was downloaded. One cached
    series read (top MAX_TOP, so a key outside the top 20 reads as OTHER)."""
    start = max(held.first, held.latest - dt.timedelta(days=days - 1))
    grouping = Grouping.EXACT
    if kind is Kind.VERSIONS and key.endswith(".*"):
        grouping = Grouping.MAJOR if key.count(".") == 1 else Grouping.MINOR
    found = series(name, held, kind, start, held.latest, grouping=grouping, top=MAX_TOP)
    whole = sum(sum(d.values()) for d in found.values())
    if not whole:
        return None
    return round(100.0 * sum(found.get(key, {}).values()) / whole, 2)


def country_names() -> dict[str, str]:
    """ISO alpha-2 code -> name (ClickHouse's countries_dict); cached a day."""
    if not enabled():
        raise ClickHouseDisabled("CLICKHOUSE_URL is empty")
    key = _key("countries")
    cached = soft_cache.get(key)
    if isinstance(cached, dict):
        return cached
    with page_client() as client:
        found = queries.country_names(client)
    soft_cache.set(key, found, NAMES_SECONDS)
    return found


def label(kind: Kind, key: str, names: dict[str, str] | None = None) -> str:
    """How a key reads: "2.3.*", "uv", "Germany", "unknown", "other versions"."""
    if key == OTHER:
        return {
            Kind.VERSIONS: "other versions",
            Kind.INSTALLERS: "other installers",
            Kind.COUNTRIES: "other countries",
        }[kind]
    if kind is Kind.COUNTRIES:
        if key == UNKNOWN_COUNTRY:
            return "unknown"
        return (names or {}).get(key, key)
    return key

"""What ClickPy would hold for a demo package, per (name, date): the pure-Python half.

Everything here is a function of the package name and the date (never of "today"), so two
processes, or a stand-in started next week, agree on every day they both hold.

Totals come from the demo upstream's own generator (packages_app.demo.data.synthetic_day):
the stand-in never restates a number, it calls that function, so retuning the demo data
moves both sources together.

  - `without_mirrors(d)` is ClickHouse's count of downloads whose installer is neither a
    mirror (bandersnatch, z3c.pypimirror, Artifactory, devpi) nor empty, pypistats.org's own
    definition; `with_mirrors(d)` counts every download. Both equal the demo upstream's
    numbers on every day, except on the deliberate disagreement days below.
  - Python minor and system: the non-mirror downloads split exactly as synthetic_day splits
    them; mirror downloads have no Python and no system, spelled "" as ClickHouse spells an
    unknown value (its columns are LowCardinality(String), never Nullable: BigQuery's NULL
    arrives as ""). upstream's "null" category is therefore ClickHouse's "" minus the mirror
    downloads, and upstream's system "other" is ClickHouse's named rarer systems (FreeBSD,
    OpenBSD, SunOS) added up.

Deliberate disagreement days (so a cross-check has something to find): a day whose ordinal
plus a per-name offset is a multiple of DISAGREEMENT_PERIOD (73). Every 181-day window, the
demo upstream's, holds 2 or 3 of them (181 = 2 x 73 + 35), and which ones depends only on
the name and the date, so they do not move when "today" moves. On such a day ClickHouse lost
(two times in three) or double-loaded part of the day's non-mirror downloads: its
without_mirrors differs from upstream's by 2-8 % (at least one download; on a day with fewer
than ~13 downloads that one download is more than 8 %), its with_mirrors by the same number
of downloads (mirror downloads are unchanged), and its Python and system series are split
from its own without_mirrors in upstream's proportions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import lru_cache

from packages_app.demo import data as demo_data

# Bump when anything below or in build.py changes what the tables hold: it keys the cached
# builds under var/clickhouse-demo/.
DATA_VERSION = 5

FIRST_DATE_MIN = dt.date(2016, 1, 1)
FIRST_DATE_MAX = dt.date(2024, 12, 31)
# Any salt gives a valid date; this one was picked so that the demo's long-lived packages
# (django, requests, numpy, flask) reach back to 2016 and the demo shows ten years.
_FIRST_DATE_SALT = "first-download-776"

DISAGREEMENT_PERIOD = 73

# upstream's python_minor categories (data.MINOR_NAMES) as ClickHouse spells them.
PYTHON_MINORS: tuple[str, ...] = tuple("" if m == "null" else m for m in demo_data.MINOR_NAMES)
# upstream's Darwin, Linux, Windows, other, null as ClickHouse spells them: "other" is made
# of real system names, split in these proportions.
SYSTEMS: tuple[str, ...] = ("Darwin", "Linux", "Windows", "FreeBSD", "OpenBSD", "SunOS", "")
OTHER_SYSTEMS_WEIGHTS = (0.7, 0.2, 0.1)
UPSTREAM_SYSTEMS = ("Darwin", "Linux", "Windows")  # the names upstream keeps as they are

# pypistats.org's mirror installers (its SQL: installer NOT IN (...)); "" fails that test too.
MIRROR_INSTALLERS: tuple[str, ...] = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi")
NON_MIRROR_INSTALLERS: tuple[str, ...] = (
    "pip",
    "uv",
    "poetry",
    "pdm",
    "pipenv",
    "conda",
    "requests",
    "setuptools",
    "Browser",
)
# Installer column order in the builder: non-mirror ones, then the mirror class ("" last).
INSTALLERS: tuple[str, ...] = (*NON_MIRROR_INSTALLERS, *MIRROR_INSTALLERS, "")
FILE_TYPES: tuple[str, ...] = ("bdist_wheel", "sdist")
UV_LAUNCH = dt.date(2024, 2, 15)

# ISO 3166 alpha-2 code -> name, as ClickPy's countries table has them (its source is the
# ISO list with these spellings). The download data uses the first COUNTRY_CODES; the
# table holds more, as the real one holds every country.
COUNTRY_NAMES: dict[str, str] = {
    "US": "United States of America",
    "CN": "China",
    "DE": "Germany",
    "GB": "United Kingdom of Great Britain and Northern Ireland",
    "IN": "India",
    "IE": "Ireland",
    "FR": "France",
    "JP": "Japan",
    "NL": "Netherlands",
    "SG": "Singapore",
    "BR": "Brazil",
    "CA": "Canada",
    "KR": "Korea, Republic of",
    "RU": "Russian Federation",
    "AU": "Australia",
    "SE": "Sweden",
    "CH": "Switzerland",
    "ES": "Spain",
    "IT": "Italy",
    "PL": "Poland",
    "FI": "Finland",
    "TW": "Taiwan, Province of China",
    "HK": "Hong Kong",
    "IL": "Israel",
    "VN": "Viet Nam",
    "ID": "Indonesia",
    "TR": "Türkiye",
    "UA": "Ukraine",
    "MX": "Mexico",
    "AR": "Argentina",
    "ZA": "South Africa",
    "NG": "Nigeria",
    "EG": "Egypt",
    "NZ": "New Zealand",
    "NO": "Norway",
    "DK": "Denmark",
    "BE": "Belgium",
    "AT": "Austria",
    "CZ": "Czechia",
    "PT": "Portugal",
}
COUNTRY_CODES: tuple[str, ...] = (
    "US",
    "CN",
    "DE",
    "GB",
    "IN",
    "IE",
    "FR",
    "JP",
    "NL",
    "SG",
    "BR",
    "CA",
    "",  # unknown: ClickHouse's empty string (no row in countries)
)


def seed(text: str) -> int:
    """64 bits from SHA-256: stable across processes and Python versions (hash() is not)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def unit(text: str) -> float:
    """A number in [0, 1) derived from `text`."""
    return (seed(text) >> 11) / float(1 << 53)


# --- first download and disagreement days ---------------------------------------------------


@lru_cache(maxsize=4096)
def first_download_date(name: str) -> dt.date:
    """The first day ClickHouse holds for `name`: 2016-01-01 .. 2024-12-31, early years likelier."""
    span = (FIRST_DATE_MAX - FIRST_DATE_MIN).days
    u = unit(f"{_FIRST_DATE_SALT}:{name}")
    return FIRST_DATE_MIN + dt.timedelta(days=int(span * u * u))


def is_disagreement_day(name: str, day: dt.date) -> bool:
    return (day.toordinal() + seed(f"disagree:{name}")) % DISAGREEMENT_PERIOD == 0


def disagreement_days(name: str, start: dt.date, end: dt.date) -> list[dt.date]:
    """The deliberate disagreement days in [start, end]."""
    offset = seed(f"disagree:{name}") % DISAGREEMENT_PERIOD
    first = start.toordinal() + (-(start.toordinal() + offset)) % DISAGREEMENT_PERIOD
    return [dt.date.fromordinal(o) for o in range(first, end.toordinal() + 1, DISAGREEMENT_PERIOD)]


def clickhouse_without_mirrors(name: str, day: dt.date, upstream_without: int) -> int:
    """ClickHouse's without_mirrors for a day whose upstream value is `upstream_without`."""
    if upstream_without <= 0 or not is_disagreement_day(name, day):
        return upstream_without
    key = f"disagree:{name}:{day.isoformat()}"
    share = 0.02 + 0.06 * unit(key)
    delta = max(1, round(upstream_without * share))
    if seed(key) % 3 == 0:  # one time in three ClickHouse loaded part of the day twice
        return upstream_without + delta
    return max(upstream_without - delta, 0)


# --- a day's totals ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayTotals:
    """One package-day as ClickHouse holds it, before versions, installers and countries."""

    without_mirrors: int  # ClickHouse's: upstream's except on a disagreement day
    mirrors: int  # downloads by a mirror installer or with no installer
    python: tuple[int, ...]  # non-mirror downloads per PYTHON_MINORS ("" = no Python)
    system: tuple[int, ...]  # non-mirror downloads per SYSTEMS ("" = no system)

    @property
    def with_mirrors(self) -> int:
        return self.without_mirrors + self.mirrors


def day_totals(name: str, day: dt.date) -> DayTotals:
    with_m, without, minor, system = demo_data.synthetic_day(name, day)
    ours = clickhouse_without_mirrors(name, day, without)
    if ours == without:
        python, systems = list(minor), list(system)
    else:  # a disagreement day: upstream's proportions, ClickHouse's own total
        python = demo_data._split(ours, [float(n) for n in minor])
        systems = demo_data._split(ours, [float(n) for n in system])
    # synthetic_day lists its systems in demo_data.SYSTEMS' order: read them by name.
    by_name = dict(zip(demo_data.SYSTEMS, systems, strict=True))
    darwin, linux, windows = (by_name[name] for name in UPSTREAM_SYSTEMS)
    null = by_name["null"]
    rare = demo_data._split(by_name["other"], list(OTHER_SYSTEMS_WEIGHTS))
    return DayTotals(
        without_mirrors=ours,
        mirrors=with_m - without,
        python=tuple(python),
        system=(darwin, linux, windows, *rare, null),
    )


# --- releases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    version: str
    uploaded: dt.datetime  # UTC, naive
    line: int  # index of its minor line (x.y) in the package's history
    patch: int  # 0 for the line's first release

    @property
    def day(self) -> dt.date:
        return self.uploaded.date()


@dataclass(frozen=True)
class ReleasePlan:
    """How a package numbers and spaces its releases."""

    major: int
    minor: int
    first_major_last_minor: int | None  # the starting major ends after this minor
    minors_per_major: int | None  # later majors have this many minors; None: no new major
    line_days: int  # days between minor lines
    patch_days: int  # days between patches of the newest line
    anchor: dt.date | None  # the first line's date; None: some months before the first download
    zero_patch: bool = True  # "2.3.0" (True) or "2.3" (django) for a line's first release


# Plausible histories for the demo's best-known names (their first line is dated as the
# real one); every other name gets a plan derived from its name.
KNOWN_PLANS: dict[str, ReleasePlan] = {
    "django": ReleasePlan(1, 8, 11, 3, 240, 28, dt.date(2015, 4, 1), zero_patch=False),
    "requests": ReleasePlan(2, 9, None, None, 150, 35, dt.date(2015, 12, 15)),
    "numpy": ReleasePlan(1, 10, 26, None, 190, 40, dt.date(2015, 10, 5)),
    "flask": ReleasePlan(0, 11, 12, 3, 330, 50, dt.date(2016, 5, 29)),
    "httpx": ReleasePlan(0, 1, None, None, 110, 20, None),
    "sqlalchemy": ReleasePlan(1, 0, 4, None, 300, 30, dt.date(2015, 4, 16)),
    "attrs": ReleasePlan(15, 2, 2, 3, 120, 45, dt.date(2015, 10, 1)),
    "fastapi": ReleasePlan(0, 1, None, None, 25, 7, dt.date(2018, 12, 5)),
}
RELEASE_HORIZON = dt.date(2031, 12, 31)


def release_plan(name: str) -> ReleasePlan:
    known = KNOWN_PLANS.get(name)
    if known is not None:
        return known
    s = seed(f"plan:{name}")
    major = (0, 0, 1, 1, 2)[s % 5]
    minor = (s >> 8) % 6
    per_major = 3 + (s >> 16) % 8
    return ReleasePlan(
        major=major,
        minor=minor,
        first_major_last_minor=minor + per_major - 1 if major else minor + 2 * per_major,
        minors_per_major=per_major,
        line_days=90 + (s >> 24) % 200,
        patch_days=14 + (s >> 32) % 30,
        anchor=None,
    )


@lru_cache(maxsize=256)
def releases(name: str) -> tuple[Release, ...]:
    """Every release of `name` up to RELEASE_HORIZON, oldest first (the stand-in shows those
    uploaded by its latest date)."""
    plan = release_plan(name)
    first = first_download_date(name)
    if plan.anchor is not None:
        anchor = min(plan.anchor, first - dt.timedelta(days=30))
    else:
        anchor = first - dt.timedelta(days=30 + seed(f"lead:{name}") % 400)
    # Line dates: evenly spaced, each moved by up to +-15 % of the spacing.
    line_dates: list[dt.date] = []
    day = anchor
    while day <= RELEASE_HORIZON:
        line_dates.append(day)
        jitter = 0.85 + 0.3 * unit(f"line:{name}:{len(line_dates)}")
        day += dt.timedelta(days=max(round(plan.line_days * jitter), 14))
    result: list[Release] = []
    major, minor = plan.major, plan.minor
    for index, start in enumerate(line_dates):
        if index:
            limit = plan.first_major_last_minor if major == plan.major else None
            if limit is None and plan.minors_per_major is not None and major != plan.major:
                limit = plan.minors_per_major - 1
            if limit is not None and minor >= limit:
                major, minor = major + 1, 0
            else:
                minor += 1
        end = line_dates[index + 1] if index + 1 < len(line_dates) else RELEASE_HORIZON
        patch = 0
        day = start
        while day < end:
            hour = 8 + seed(f"hour:{name}:{index}:{patch}") % 12
            minute = seed(f"minute:{name}:{index}:{patch}") % 60
            if patch == 0 and not plan.zero_patch:
                version = f"{major}.{minor}"
            else:
                version = f"{major}.{minor}.{patch}"
            uploaded = dt.datetime.combine(day, dt.time(hour, minute))
            result.append(Release(version, uploaded, index, patch))
            patch += 1
            jitter = 0.6 + 0.8 * unit(f"patch:{name}:{index}:{patch}")
            day += dt.timedelta(days=max(round(plan.patch_days * jitter), 3))
    return tuple(result)


def releases_through(name: str, latest: dt.date) -> tuple[Release, ...]:
    return tuple(r for r in releases(name) if r.day <= latest)


def pending_release(name: str, latest: dt.date) -> Release:
    """A release uploaded just after the latest day ClickHouse holds: no downloads recorded yet."""
    newest = releases_through(name, latest)[-1]
    parts = newest.version.split(".")
    if len(parts) == 2:
        parts.append("0")
    version = ".".join([*parts[:2], str(int(parts[2]) + 1)])
    uploaded = dt.datetime.combine(latest + dt.timedelta(days=1), dt.time(0, 20))
    return Release(version, uploaded, newest.line, newest.patch + 1)


def requires_python(release_day: dt.date) -> str:
    """The Python floor a release declares: moves up a minor a year, as projects drop EOL ones."""
    floor = min(max(release_day.year - 2014, 4), 10)
    return f">=3.{floor}"


def classifiers(name: str, release: Release) -> list[str]:
    floor = int(requires_python(release.day).split(".")[1])
    newest = max(
        (int(v.split(".")[1]) for v, d in demo_data.PYTHON_RELEASES if d <= release.day),
        default=6,
    )
    result = [
        "Development Status :: 5 - Production/Stable",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: BSD License",
        "Operating System :: OS Independent",
        "Programming Language :: Python",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
    ]
    result += [f"Programming Language :: Python :: 3.{m}" for m in range(floor, newest + 1)]
    if name == "django":
        result.append("Framework :: Django")
    return result

"""Which Python versions a package's downloads come from, and which of those are end-of-life.

The end-of-life dates are a DATED table in code: CPython's published end of
security support (https://devguide.python.org/versions/). Dates in the future are
the scheduled ends, which is what a maintainer plans against. Update the table (and
TABLE_AS_OF) when a new version is released or a schedule changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

TABLE_AS_OF = dt.date(2026, 11, 1)

END_OF_LIFE: dict[str, dt.date] = {
    "2.6": dt.date(2013, 10, 29),
    "2.7": dt.date(2020, 1, 1),
    "3.0": dt.date(2009, 6, 27),
    "3.1": dt.date(2012, 4, 9),
    "3.2": dt.date(2016, 2, 20),
    "3.3": dt.date(2017, 9, 29),
    "3.4": dt.date(2019, 3, 18),
    "3.5": dt.date(2020, 9, 30),
    "3.6": dt.date(2021, 12, 23),
    "3.7": dt.date(2023, 6, 27),
    "3.8": dt.date(2024, 10, 7),
    "3.9": dt.date(2025, 10, 31),
    "3.10": dt.date(2026, 10, 31),
    "3.11": dt.date(2027, 10, 24),
    "3.12": dt.date(2028, 10, 31),
    "3.13": dt.date(2029, 10, 31),
    "3.14": dt.date(2030, 10, 31),
}

UNKNOWN = "null"  # upstream's category for downloads whose Python version was not recorded


def version_key(version: str) -> tuple[int, ...]:
    """Numeric sort key: 3.9 < 3.10; anything unparsable (upstream's "null") sorts last."""
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        return (10**6,)


@dataclass(frozen=True)
class VersionShare:
    version: str  # "3.12", or "null" for unknown
    downloads: int
    share_pct: float
    eol_date: dt.date | None  # None: unknown version or not in the table
    end_of_life: bool

    @property
    def label(self) -> str:
        return "unknown" if self.version == UNKNOWN else self.version


@dataclass(frozen=True)
class PythonSupport:
    start: dt.date
    end: dt.date
    total: int
    versions: list[VersionShare]  # numeric order, unknown last
    eol_downloads: int
    eol_share_pct: float | None  # of all downloads in the window, unknown included
    as_of: dt.date  # the day EOL is judged on
    table_as_of: dt.date = TABLE_AS_OF


def python_support(
    totals: Mapping[str, int], *, start: dt.date, end: dt.date, today: dt.date
) -> PythonSupport:
    """Shares per Python minor from per-version totals over [start, end], EOL judged on `today`."""
    total = sum(totals.values())
    versions: list[VersionShare] = []
    eol_downloads = 0
    for version in sorted(totals, key=version_key):
        downloads = totals[version]
        eol_date = END_OF_LIFE.get(version)
        is_eol = eol_date is not None and eol_date <= today
        if is_eol:
            eol_downloads += downloads
        versions.append(
            VersionShare(
                version=version,
                downloads=downloads,
                share_pct=(100.0 * downloads / total) if total else 0.0,
                eol_date=eol_date,
                end_of_life=is_eol,
            )
        )
    return PythonSupport(
        start=start,
        end=end,
        total=total,
        versions=versions,
        eol_downloads=eol_downloads,
        eol_share_pct=(100.0 * eol_downloads / total) if total else None,
        as_of=today,
    )

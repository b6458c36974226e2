"""Data served by the demo upstream: the golden seed and deterministic synthetic series.

Rows are (category, date, downloads) per endpoint, exactly what upstream's tables
would hold for the package. `recent` is derived from `overall` the way upstream's
`update_recent_stats` does it, so the demo answers what the real server would.

Golden: the hand-written seed of shared/upstream/golden-captures.txt, relative to
"today" (with today = 2026-11-24 the demo answers those captures byte for byte).

Synthetic: any other canonical name gets 181 days ending yesterday, generated from
a seed derived from the name, so every run and every process agrees:
  - a base level, yearly growth, weekend dips and day-to-day noise. Well-known packages
    (KNOWN_PACKAGES: requests, boto3, numpy, django, ...) get their real order of
    magnitude and weekend shape, so the demo ranks them as PyPI does; any other name a
    log-uniform level between ~20 and ~2,000,000 a day;
  - `with_mirrors` >= `without_mirrors` (mirrors add a small share);
  - Python minor versions follow adoption curves (2.7 fading, each 3.x ramping up
    after its release and slowly declining), python_major is their sum by major,
    and an OS mix; every breakdown sums exactly to `without_mirrors` that day;
  - zero counts produce no row, as upstream's GROUP BY would.
A value depends only on (name, date), never on "today", so moving today forward
adds a day and drops the oldest without changing the others, except for the
corrections the demo applies on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import random
from collections.abc import Iterable
from functools import lru_cache

from packages_app.categories import CATEGORIES

Row = tuple[str, dt.date, int]
Series = dict[str, list[Row]]  # endpoint -> rows

SERIES_ENDPOINTS = ("overall", "python_major", "python_minor", "system")
WINDOW_DAYS = 181  # upstream's purge keeps D-180 .. D

# Names the synthetic dataset answers 404 (overall, recent) / empty data (breakdowns) for.
NOT_FOUND_NAMES = frozenset(
    {"nosuchpkg", "not-on-pypistats", "this-package-does-not-exist", "demo-not-found"}
)

ALL_PACKAGES = "__all__"

# (version, first release date): when each minor version's downloads start.
PYTHON_RELEASES: tuple[tuple[str, dt.date], ...] = (
    ("3.6", dt.date(2016, 12, 23)),
    ("3.7", dt.date(2018, 6, 27)),
    ("3.8", dt.date(2019, 10, 14)),
    ("3.9", dt.date(2020, 10, 5)),
    ("3.10", dt.date(2021, 10, 4)),
    ("3.11", dt.date(2022, 10, 24)),
    ("3.12", dt.date(2023, 10, 2)),
    ("3.13", dt.date(2024, 10, 7)),
    ("3.14", dt.date(2025, 10, 7)),
)
SYSTEMS = CATEGORIES["system"]
# Each OS's weight in a package's mix is drawn from its range, in THIS order (the order
# of the draws fixes every package's numbers); a range of one value draws nothing.
_OS_WEIGHT_RANGES: dict[str, tuple[float, float]] = {
    "Darwin": (0.06, 0.18),
    "Linux": (0.6, 0.85),
    "Windows": (0.05, 0.2),
    "other": (0.004, 0.004),
    "null": (0.01, 0.05),
}
assert set(_OS_WEIGHT_RANGES) == set(SYSTEMS), "one weight range per OS category"


def golden_series(today: dt.date) -> dict[str, Series]:
    """The golden-captures seed, dated relative to `today` (D-1 = yesterday)."""

    def d(n: int) -> dt.date:
        return today - dt.timedelta(days=n)

    overall_demo: list[Row] = []
    for n, with_m, without_m in (
        (1, 120, 100),
        (2, 60, 50),
        (5, 11, 10),
        (10, 7, 7),
        (40, 1001, 1000),
        (200, 5, 5),
    ):
        overall_demo.append(("with_mirrors", d(n), with_m))
        overall_demo.append(("without_mirrors", d(n), without_m))
    return {
        "demo-pkg": {
            "overall": overall_demo,
            "python_major": [
                ("3", d(2), 45),
                ("null", d(2), 5),
                ("2", d(1), 1),
                ("3", d(1), 90),
                ("null", d(1), 9),
            ],
            "python_minor": [
                ("2.7", d(1), 1),
                ("3.10", d(1), 30),
                ("3.9", d(1), 20),
                ("3.12", d(1), 40),
                ("null", d(1), 9),
                ("3.9", d(2), 25),
                ("3.10", d(2), 25),
            ],
            "system": [
                ("Darwin", d(1), 10),
                ("Linux", d(1), 70),
                ("Windows", d(1), 12),
                ("other", d(1), 1),
                ("null", d(1), 7),
                ("Linux", d(2), 40),
                ("null", d(2), 10),
            ],
        },
        "zope-interface": {"overall": [("with_mirrors", d(1), 3), ("without_mirrors", d(1), 2)]},
        "old-only": {"overall": [("with_mirrors", d(3), 4)]},
        ALL_PACKAGES: {
            "overall": [("with_mirrors", d(1), 1_000_000), ("without_mirrors", d(1), 900_000)]
        },
    }


# Hand-inserted `recent` rows of the golden seed (package -> {period: downloads}).
GOLDEN_EXTRA_RECENT: dict[str, dict[str, int]] = {"month-only": {"month": 5}}


def recent_from_overall(rows: Iterable[Row], today: dt.date) -> dict[str, int]:
    """upstream's update_recent_stats: D = today - 1; day = D, week = date > D-7, month = date > D-30.

    Only `without_mirrors` counts, and a period with no row in its window has no row.
    """
    last = today - dt.timedelta(days=1)
    result: dict[str, int] = {}
    for period, days in (("day", None), ("week", 7), ("month", 30)):
        if days is None:
            values = [n for c, date, n in rows if c == "without_mirrors" and date == last]
        else:
            since = last - dt.timedelta(days=days)
            values = [n for c, date, n in rows if c == "without_mirrors" and date > since]
        if values:
            result[period] = sum(values)
    return result


# --- synthetic ---------------------------------------------------------------------------


def _seed(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


def _split(total: int, weights: list[float]) -> list[int]:
    """Split `total` into integers proportional to weights (largest remainder): they sum to total."""
    weight_sum = sum(weights)
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    scale = total / weight_sum
    raw = [w * scale for w in weights]
    parts = [int(x) for x in raw]
    remainder = total - sum(parts)
    if remainder:
        fractions = [x - p for x, p in zip(raw, parts, strict=True)]
        for i in sorted(range(len(weights)), key=fractions.__getitem__, reverse=True)[:remainder]:
            parts[i] += 1
    return parts


class _Noise:
    """A tiny deterministic generator (splitmix64) seeded by (name, date): cheap to create."""

    __slots__ = ("state",)
    _MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self._MASK

    def random(self) -> float:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self._MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self._MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self._MASK
        return ((z ^ (z >> 31)) >> 11) / float(1 << 53)

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * self.random()

    def gauss(self, mu: float, sigma: float) -> float:
        # Box-Muller; 1 - random() is never 0.
        u1, u2 = 1.0 - self.random(), self.random()
        return mu + sigma * math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


@lru_cache(maxsize=131072)
def _minor_weights(day: dt.date, lag_days: int) -> tuple[float, ...]:
    """Adoption-curve weights of 2.7, 3.6 .. 3.14 on `day` (before the null share)."""
    years = (day - dt.date(2020, 1, 1)).days / 365.25
    weights = [0.03 * math.exp(-max(years, 0.0) / 2.0)]  # 2.7 keeps fading
    for _version, released in PYTHON_RELEASES:
        age = ((day - released).days - lag_days) / 365.25
        if age <= 0:
            weights.append(0.0)
            continue
        ramp = 1 - math.exp(-age / 0.9)
        decline = math.exp(-max(age - 2.5, 0.0) / 1.6)
        weights.append(ramp * decline)
    return tuple(weights)


# Weekday downloads (without mirrors, early 2026) and weekend share of a weekday for
# packages a demo visitor will look up first. Magnitudes follow the real ones: the
# samples in shared/upstream/samples (pip ~2.3 M a day, python-dotenv ~8.6 M a day,
# openadapt a few dozen) and PyPI's public rankings, where urllib3, boto3, requests and
# certifi sit near the top and web frameworks two orders of magnitude lower. Packages
# pulled in by CI and cloud images dip little at weekends (0.8); ones people install
# by hand while working dip more (0.5-0.6).
KNOWN_PACKAGES: dict[str, tuple[float, float]] = {
    ALL_PACKAGES: (1.8e9, 0.78),
    "boto3": (45_000_000, 0.82),
    "urllib3": (38_000_000, 0.8),
    "requests": (32_000_000, 0.78),
    "certifi": (30_000_000, 0.8),
    "setuptools": (28_000_000, 0.8),
    "idna": (27_000_000, 0.8),
    "numpy": (15_000_000, 0.7),
    "click": (14_000_000, 0.75),
    "pandas": (12_000_000, 0.68),
    "python-dotenv": (8_600_000, 0.75),
    "pydantic": (11_000_000, 0.72),
    "pytest": (8_000_000, 0.62),
    "httpx": (6_500_000, 0.7),
    "flask": (3_200_000, 0.62),
    "fastapi": (3_000_000, 0.6),
    "pip": (2_260_000, 0.72),
    "django": (560_000, 0.52),
    "celery": (900_000, 0.6),
    "openadapt": (20, 0.5),
}


@lru_cache(maxsize=4096)
def _profile(name: str) -> tuple[float, float, float, float, int, tuple[float, ...]]:
    rng = random.Random(_seed(name))
    # The draws happen in this order for every name (known or not), so a package's other
    # traits do not depend on whether its level is looked up or drawn.
    base = math.exp(rng.uniform(math.log(20), math.log(2_000_000)))
    growth = rng.uniform(-0.1, 0.8)  # per year
    weekend = rng.uniform(0.55, 0.9)  # weekend share of a weekday
    if name in KNOWN_PACKAGES:
        base, weekend = KNOWN_PACKAGES[name]
        # Big, established packages grow slowly; a wild draw would make them cross.
        growth = min(growth, 0.25)
    mirrors = rng.uniform(0.005, 0.06)
    lag = round(rng.uniform(-60, 240))  # days: how late this package's users adopt new Pythons
    os_mix = {
        name: low if low == high else rng.uniform(low, high)
        for name, (low, high) in _OS_WEIGHT_RANGES.items()
    }
    return base, growth, weekend, mirrors, lag, tuple(os_mix[name] for name in SYSTEMS)


# Values never change for a (name, date), so a bigger cache only costs memory (~1 KB an
# entry): benchmarks raise it so "advance today" recomputes one day per package, not 181.
_DAY_CACHE = int(os.environ.get("DEMO_DAY_CACHE", "8192"))


@lru_cache(maxsize=_DAY_CACHE)
def synthetic_day(name: str, day: dt.date) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]:
    """(with_mirrors, without_mirrors, minor counts [2.7, 3.6..3.14, null], system counts) for a day."""
    base, growth, weekend, mirrors, lag, os_mix = _profile(name)
    rng = _Noise(_seed(name) ^ (day.toordinal() * 0x2545F4914F6CDD1D))
    years = (day - dt.date(2026, 1, 1)).days / 365.25
    level = base * (1 + growth) ** years
    if day.weekday() >= 5:
        level *= weekend
    level *= math.exp(rng.gauss(0, 0.08))
    without = max(int(level), 0)
    with_m = (
        without + int(without * mirrors * rng.uniform(0.7, 1.3)) + (1 if rng.random() < 0.3 else 0)
    )
    minor_weights = _minor_weights(day, lag)
    null_share = 0.015 * sum(minor_weights)
    minor = _split(without, [*minor_weights, null_share])
    system = _split(without, list(os_mix))
    return with_m, without, tuple(minor), tuple(system)


MINOR_NAMES = ("2.7", *(v for v, _ in PYTHON_RELEASES), "null")


@lru_cache(maxsize=64)
def synthetic_series(name: str, today: dt.date) -> Series:
    """181 days ending yesterday for `name`; rows with zero downloads are absent, as upstream.

    Cached (a refresh asks for the same package's five endpoints in a row): callers
    must not mutate the lists.
    """
    overall: list[Row] = []
    major: list[Row] = []
    minor_rows: list[Row] = []
    system_rows: list[Row] = []
    start = today - dt.timedelta(days=WINDOW_DAYS)
    for offset in range(WINDOW_DAYS):
        day = start + dt.timedelta(days=offset)
        with_m, without, minor, system = synthetic_day(name, day)
        if with_m:
            overall.append(("with_mirrors", day, with_m))
        if without:
            overall.append(("without_mirrors", day, without))
        majors = {"2": minor[0], "3": sum(minor[1:-1]), "null": minor[-1]}
        for category, value in majors.items():
            if value:
                major.append((category, day, value))
        for category, value in zip(MINOR_NAMES, minor, strict=True):
            if value:
                minor_rows.append((category, day, value))
        for category, value in zip(SYSTEMS, system, strict=True):
            if value:
                system_rows.append((category, day, value))
    return {
        "overall": overall,
        "python_major": major,
        "python_minor": minor_rows,
        "system": system_rows,
    }


def is_synthetic_name(name: str) -> bool:
    """Upstream only holds canonical (lowercase, single-separator) names; others match nothing."""
    from packages_app.names import canonicalize_or_none

    return name not in NOT_FOUND_NAMES and canonicalize_or_none(name) == name

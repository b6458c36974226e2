"""Which Python minor versions the package page names and which it folds into "other"."""

from __future__ import annotations

import datetime as dt

from packages_app.models import Metric
from packages_app.pages.options import parse_options
from packages_app.pages.package import MAX_MINOR_SERIES, build_payload
from packages_app.store.points import SeriesByMetric

FIRST = dt.date(2016, 1, 1)
LATEST = dt.date(2025, 12, 31)
DAYS = (LATEST - FIRST).days + 1


def ten_years() -> dict[str, dict[dt.date, int]]:
    """Nine versions over ten years: two that were big for years long ago (2.7, 3.6), five
    steady ones, and two that rose in the last months (3.13, 3.14): small totals, the
    biggest days."""
    days = [FIRST + dt.timedelta(days=n) for n in range(DAYS)]
    series: dict[str, dict[dt.date, int]] = {
        "2.7": dict.fromkeys(days[: DAYS // 2], 3000),
        "3.6": dict.fromkeys(days[DAYS // 4 : 3 * DAYS // 4], 2500),
    }
    for version in ("3.8", "3.9", "3.10", "3.11", "3.12"):
        series[version] = dict.fromkeys(days, 1000)
    for version, top in (("3.13", 6_000), ("3.14", 5_000)):
        late = days[-120:]
        series[version] = {d: top * (n + 1) // len(late) for n, d in enumerate(late)}
    return series


def minor_keys(query: dict[str, str]) -> list[str]:
    minors = ten_years()

    def fetch(start: dt.date, end: dt.date) -> SeriesByMetric:
        return {Metric.PYTHON_MINOR: minors}

    payload = build_payload("pkg", FIRST, LATEST, parse_options(query), fetch, data_version=1)
    assert payload is not None
    chart = next(c for c in payload["charts"] if c["id"] == "python_minor")
    return [d["key"] for d in chart["datasets"]]


def test_ten_years_name_the_versions_with_the_biggest_days_not_the_biggest_totals() -> None:
    keys = minor_keys({"range": "all"})
    assert len(keys) == MAX_MINOR_SERIES and keys[-1] == "other"
    # 3.13 and 3.14 hold a fraction of 2.7's total, but most downloads at the end.
    assert {"3.13", "3.14", "2.7", "3.6"} <= set(keys)
    # The steady ones peak alike: the newest of them are named.
    assert keys[:-1] == ["3.14", "3.13", "3.12", "3.11", "3.6", "2.7"]


def test_a_window_ranks_by_the_days_inside_it() -> None:
    # 2019-2020: 2.7 and 3.6 at their height, 3.13 and 3.14 not released yet.
    keys = minor_keys({"start": "2019-01-01", "end": "2020-12-31"})
    assert "3.13" not in keys and "3.14" not in keys
    assert {"2.7", "3.6"} <= set(keys)

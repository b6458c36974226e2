"""The ClickHouse stand-in's data keeps its promises, checked over HTTP with ClickHouse SQL.

Expected numbers come from the demo upstream (its HTTP API and data.synthetic_day), never
from the stand-in's own builder; the structural equalities are checked inside ClickHouse
(`EXCEPT` both ways) over every day of every package.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator

import httpx
import pytest

from packages_app.demo import data as demo_data
from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from tests.packages_app.demo.clickhouse_support import LATEST, PACKAGES, select, stand_in
from tests.packages_app.golden import GOLDEN_TODAY

MIRRORS = ("bandersnatch", "z3c.pypimirror", "Artifactory", "devpi")  # pypistats.org's list
WINDOW_START = GOLDEN_TODAY - dt.timedelta(days=181)


@pytest.fixture(scope="module")
def ch() -> Iterator[DemoClickHouse]:
    with stand_in() as running:
        yield running


@pytest.fixture(scope="module")
def upstream() -> Iterator[DemoUpstream]:
    with DemoUpstream.running(today=GOLDEN_TODAY, rate_limit=False) as demo:
        yield demo


def upstream_rows(demo: DemoUpstream, name: str, endpoint: str) -> dict[tuple[str, str], int]:
    """(category, ISO date) -> downloads, from the demo upstream's HTTP API."""
    response = httpx.get(f"{demo.url}/packages/{name}/{endpoint}")
    assert response.status_code == 200
    return {(r["category"], r["date"]): r["downloads"] for r in response.json()["data"]}


def by_day(rows: list[dict[str, object]], key: str = "n") -> dict[str, int]:
    return {str(r["date"]): int(str(r[key])) for r in rows}


# --- agreement with the demo upstream --------------------------------------------------------------


@pytest.mark.parametrize("name", PACKAGES)
def test_mirrors_rebuilt_from_installers_agree_with_upstream_but_on_a_few_days(
    ch: DemoClickHouse, upstream: DemoUpstream, name: str
) -> None:
    ours = select(
        ch,
        "SELECT date, sum(count) AS with_mirrors,"
        " sumIf(count, installer NOT IN {mirrors:Array(String)} AND installer != '') AS without"
        " FROM pypi_downloads_per_day_by_version_by_installer_by_type"
        " WHERE project = {p:String} AND date >= {since:Date} GROUP BY date ORDER BY date",
        p=name,
        since=WINDOW_START.isoformat(),
        mirrors=str(list(MIRRORS)),
    )
    theirs = upstream_rows(upstream, name, "overall")
    assert len(ours) == 181
    differing: dict[str, tuple[int, int, int, int]] = {}
    for row in ours:
        day = str(row["date"])
        up_with, up_without = theirs[("with_mirrors", day)], theirs[("without_mirrors", day)]
        ch_with, ch_without = int(str(row["with_mirrors"])), int(str(row["without"]))
        if (ch_with, ch_without) != (up_with, up_without):
            differing[day] = (ch_with, ch_without, up_with, up_without)
    # The deliberate days, and only those: two or three in the window.
    expected = model.disagreement_days(name, WINDOW_START, LATEST)
    assert sorted(differing) == [d.isoformat() for d in expected]
    assert 2 <= len(differing) <= 3
    for ch_with, ch_without, up_with, up_without in differing.values():
        delta = ch_without - up_without
        assert ch_with - up_with == delta  # mirror downloads are untouched
        assert delta != 0
        if up_without >= 13:  # one download is more than 8 % of a smaller day
            assert 0.02 <= abs(delta) / up_without <= 0.08 + 1 / up_without


@pytest.mark.parametrize("name", PACKAGES)
def test_python_and_system_agree_with_upstream_plus_mirrors_under_empty(
    ch: DemoClickHouse, upstream: DemoUpstream, name: str
) -> None:
    overall = upstream_rows(upstream, name, "overall")
    skip = {d.isoformat() for d in model.disagreement_days(name, WINDOW_START, LATEST)}
    for endpoint, column, table in (
        ("python_minor", "python_minor", "pypi_downloads_per_day_by_version_by_python"),
        ("system", "system", "pypi_downloads_per_day_by_version_by_system"),
    ):
        theirs = upstream_rows(upstream, name, endpoint)
        rows = select(
            ch,
            f"SELECT date, {column} AS category, sum(count) AS n FROM {table}"
            " WHERE project = {p:String} AND date >= {since:Date} GROUP BY date, category",
            p=name,
            since=WINDOW_START.isoformat(),
        )
        ours: dict[tuple[str, str], int] = defaultdict(int)
        for row in rows:
            category = str(row["category"])
            if category == "":
                category = "null"
            elif endpoint == "system" and category not in ("Darwin", "Linux", "Windows"):
                category = "other"  # upstream's name for the rarer systems
            ours[(category, str(row["date"]))] += int(str(row["n"]))
        # upstream's null + every mirror download = ClickHouse's "".
        expected: dict[tuple[str, str], int] = defaultdict(int, theirs)
        for (category, day), value in overall.items():
            if category == "with_mirrors":
                mirrors = value - overall[("without_mirrors", day)]
                expected[("null", day)] += mirrors
        days = {day for _category, day in expected} - skip
        assert len(days) >= 178
        for day in days:
            for category in {c for c, _d in expected} | {c for c, _d in ours}:
                assert ours.get((category, day), 0) == expected.get((category, day), 0), (
                    endpoint,
                    category,
                    day,
                )


@pytest.mark.parametrize("name", PACKAGES)
def test_history_totals_match_the_demo_generator(ch: DemoClickHouse, name: str) -> None:
    per_day = by_day(
        select(
            ch,
            "SELECT date, sum(count) AS n FROM pypi_downloads_per_day"
            " WHERE project = {p:String} GROUP BY date ORDER BY date",
            p=name,
        )
    )
    first = model.first_download_date(name)
    day = first
    expected: dict[str, int] = {}
    while day <= LATEST:
        with_mirrors = demo_data.synthetic_day(name, day)[0]
        if with_mirrors and not model.is_disagreement_day(name, day):
            expected[day.isoformat()] = with_mirrors
        day += dt.timedelta(days=1)
    assert {d: per_day[d] for d in expected} == expected
    assert min(per_day) >= first.isoformat()
    extra = set(per_day) - set(expected)
    assert all(model.is_disagreement_day(name, dt.date.fromisoformat(d)) for d in extra)
    total = select(
        ch, "SELECT sum(count) AS n FROM pypi_downloads WHERE project = {p:String}", p=name
    )
    assert int(str(total[0]["n"])) == sum(per_day.values())


def test_first_and_last_dates(ch: DemoClickHouse) -> None:
    rows = select(
        ch,
        "SELECT project, min(min_date) AS first, max(max_date) AS last"
        " FROM pypi_downloads_max_min GROUP BY project ORDER BY project",
    )
    assert [r["project"] for r in rows] == list(PACKAGES)
    for row in rows:
        name = str(row["project"])
        first = dt.date.fromisoformat(str(row["first"]))
        assert dt.date(2016, 1, 1) <= first <= dt.date(2024, 12, 31)
        assert row["last"] == LATEST.isoformat()
        # The first day with a download, from the demo generator itself.
        day = first - dt.timedelta(days=1)
        assert demo_data.synthetic_day(name, first)[0] > 0
        held = select(
            ch,
            "SELECT min(date) AS d FROM pypi_downloads_per_day WHERE project = {p:String}",
            p=name,
        )
        assert held == [{"d": first.isoformat()}]
        assert day < first


# --- every view agrees with every other --------------------------------------------------------------

# (view A, view B, columns both have, A's extra filter): sum(count) grouped by the shared
# columns must be equal, checked both ways with EXCEPT.
_BY_VERSION = "pypi_downloads_per_day_by_version"
_SAME_SUMS = [
    ("pypi_downloads_per_day", _BY_VERSION, "project, date"),
    *[
        (_BY_VERSION, f"{_BY_VERSION}_{suffix}", "project, date, version")
        for suffix in (
            "by_python",
            "by_system",
            "by_country",
            "by_file_type",
            "by_installer_by_type",
            "by_installer_by_type_by_country",
            "by_python_by_country",
            "by_system_by_country",
        )
    ],
    (
        f"{_BY_VERSION}_by_installer_by_type",
        f"{_BY_VERSION}_by_installer_by_type_by_country",
        "project, date, version, installer",
    ),
    (
        f"{_BY_VERSION}_by_file_type",
        f"{_BY_VERSION}_by_installer_by_type_by_country",
        "project, date, version, type",
    ),
    (
        f"{_BY_VERSION}_by_country",
        f"{_BY_VERSION}_by_installer_by_type_by_country",
        "project, date, version, country_code",
    ),
    (
        f"{_BY_VERSION}_by_python",
        f"{_BY_VERSION}_by_python_by_country",
        "project, date, version, python_minor",
    ),
    (
        f"{_BY_VERSION}_by_country",
        f"{_BY_VERSION}_by_python_by_country",
        "project, date, version, country_code",
    ),
    (
        f"{_BY_VERSION}_by_system",
        f"{_BY_VERSION}_by_system_by_country",
        "project, date, version, system",
    ),
    (
        f"{_BY_VERSION}_by_country",
        f"{_BY_VERSION}_by_system_by_country",
        "project, date, version, country_code",
    ),
    ("pypi_downloads_by_version", _BY_VERSION, "project, version"),
    ("pypi_downloads", "pypi_downloads_per_day", "project"),
]


@pytest.mark.parametrize(
    ("a", "b", "columns"), _SAME_SUMS, ids=[f"{a}={b}[{c}]" for a, b, c in _SAME_SUMS]
)
def test_views_agree_where_they_share_columns(
    ch: DemoClickHouse, a: str, b: str, columns: str
) -> None:
    # Both ways at once, each view grouped once: a key both views hold with the same sum
    # cancels out; one only one holds (count() 1), or with another sum, is a difference.
    differences = select(
        ch,
        f"SELECT count() AS n FROM ("
        f" SELECT {columns} FROM ("
        f"  SELECT {columns}, toInt64(sum(count)) AS total FROM {a} GROUP BY {columns}"
        f"  UNION ALL"
        f"  SELECT {columns}, -toInt64(sum(count)) AS total FROM {b} GROUP BY {columns})"
        f" GROUP BY {columns} HAVING count() != 2 OR sum(total) != 0)",
    )
    assert differences == [{"n": 0}], (a, b)


def test_per_month_holds_the_last_six_months(ch: DemoClickHouse) -> None:
    months = select(
        ch,
        "SELECT month, sum(count) AS n FROM pypi_downloads_per_month"
        " WHERE project = 'sqlalchemy' GROUP BY month ORDER BY month",
    )
    daily = select(
        ch,
        "SELECT toStartOfMonth(date) AS month, sum(count) AS n FROM pypi_downloads_per_day"
        " WHERE project = 'sqlalchemy' AND date > toStartOfMonth({latest:Date}) - toIntervalMonth(6)"
        " GROUP BY month ORDER BY month",
        latest=LATEST.isoformat(),
    )
    assert months == daily and len(months) == 7  # six whole months and the current one


# --- versions, installers, countries: present and plausible -----------------------------------------


def test_versions_have_release_dates_and_one_has_no_downloads(ch: DemoClickHouse) -> None:
    releases = select(
        ch,
        "SELECT name, version, min(upload_time) AS uploaded, any(requires_python) AS requires,"
        " count() AS files FROM projects GROUP BY name, version",
    )
    uploaded = {(str(r["name"]), str(r["version"])): str(r["uploaded"]) for r in releases}
    assert all(r["files"] == 2 and str(r["requires"]).startswith(">=3.") for r in releases)
    downloaded = select(
        ch,
        "SELECT project, version, min(date) AS first FROM pypi_downloads_per_day_by_version"
        " GROUP BY project, version",
    )
    for row in downloaded:
        key = (str(row["project"]), str(row["version"]))
        assert key in uploaded, key  # every downloaded version is a release
        assert uploaded[key][:10] <= str(row["first"])  # and was out by then
    never = set(uploaded) - {(str(r["project"]), str(r["version"])) for r in downloaded}
    recent_without = {k for k in never if uploaded[k][:10] > LATEST.isoformat()}
    assert {name for name, _v in recent_without} == set(PACKAGES)
    majors = {v.split(".")[0] for name, v in uploaded if name == "sqlalchemy"}
    assert len(majors) >= 2


def test_new_releases_take_over_within_weeks(ch: DemoClickHouse) -> None:
    """ "Days to reach 50 %" has answers: releases after the first download get there in weeks."""
    shares = select(
        ch,
        "SELECT date, version, sum(count) / any(total) AS share"
        " FROM pypi_downloads_per_day_by_version"
        " INNER JOIN (SELECT date, sum(count) AS total FROM pypi_downloads_per_day"
        "  WHERE project = 'sqlalchemy' GROUP BY date) AS t USING date"
        " WHERE project = 'sqlalchemy' GROUP BY date, version",
    )
    by_version: dict[str, dict[str, float]] = defaultdict(dict)
    for row in shares:
        by_version[str(row["version"])][str(row["date"])] = float(str(row["share"]))
    released = {
        str(r["version"]): dt.date.fromisoformat(str(r["uploaded"])[:10])
        for r in select(
            ch,
            "SELECT version, min(upload_time) AS uploaded FROM projects"
            " WHERE name = 'sqlalchemy' GROUP BY version",
        )
    }
    first_download = model.first_download_date("sqlalchemy")
    took: dict[str, int] = {}
    for version, days in by_version.items():
        if released[version] <= first_download:
            continue
        half = [d for d, share in days.items() if share >= 0.5]
        if half:
            took[version] = (dt.date.fromisoformat(min(half)) - released[version]).days
    assert len(took) >= 3
    assert all(1 <= days <= 120 for days in took.values()), took
    # The newest release with downloads is on its way up.
    newest = max(by_version, key=lambda v: released[v])
    assert by_version[newest][LATEST.isoformat()] > 0


def installer_shares(ch: DemoClickHouse, start: str, end: str) -> dict[str, float]:
    rows = select(
        ch,
        "SELECT installer, sum(count) AS n FROM pypi_downloads_per_day_by_version_by_installer_by_type"
        " WHERE project = 'sqlalchemy' AND date BETWEEN {a:Date} AND {b:Date} GROUP BY installer",
        a=start,
        b=end,
    )
    total = sum(int(str(r["n"])) for r in rows)
    return {str(r["installer"]): int(str(r["n"])) / total for r in rows}


def test_uv_grows_against_pip(ch: DemoClickHouse) -> None:
    before = installer_shares(ch, "2023-07-01", "2024-02-14")
    early = installer_shares(ch, "2024-06-01", "2024-06-30")
    late = installer_shares(ch, "2026-11-01", LATEST.isoformat())
    assert "uv" not in before
    assert 0 < early["uv"] < late["uv"]
    assert late["uv"] >= 0.15
    for shares in (before, early, late):
        assert max(shares, key=shares.__getitem__) == "pip"
        assert {"poetry", "pdm", "pipenv", "conda", "bandersnatch", "Artifactory", ""} <= set(
            shares
        )


def test_countries_have_names_and_unknown_is_empty(ch: DemoClickHouse) -> None:
    rows = select(
        ch,
        "SELECT country_code AS code, dictGetOrDefault('pypi.countries_dict', 'name', country_code, '')"
        " AS name, sum(count) AS n FROM pypi_downloads_per_day_by_version_by_country"
        " WHERE project = 'sqlalchemy' GROUP BY code ORDER BY n DESC",
    )
    codes = [str(r["code"]) for r in rows]
    assert codes[0] == "US"
    assert {"US", "CN", "DE", "GB", "IN", "FR", "JP", ""} <= set(codes)
    for row in rows:
        assert (row["name"] == "") == (row["code"] == "")
    assert next(r["name"] for r in rows if r["code"] == "US") == "United States of America"


def test_file_types(ch: DemoClickHouse) -> None:
    rows = select(
        ch,
        "SELECT type, sum(count) AS n FROM pypi_downloads_per_day_by_version_by_file_type"
        " GROUP BY type ORDER BY n DESC",
    )
    assert [r["type"] for r in rows] == ["bdist_wheel", "sdist"]

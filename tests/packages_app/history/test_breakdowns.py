"""Versions, installers and countries read from the ClickHouse stand-in (issue #16, items 1-3).

Every expected number comes from the stand-in's own model (clickhouse_data.build's chunk
of a package's days and model.releases), never from the code under test.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import build, model
from packages_app.history import breakdown_selectors as selectors
from packages_app.history import breakdowns
from packages_app.history.breakdowns import OTHER, Grouping
from packages_app.history.client import ClickHouseClient, ClickHouseDisabled
from tests.packages_app.demo.clickhouse_support import LATEST

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)
START = LATEST - 59 * ONE_DAY


@dataclass
class Expected:
    """The model's numbers for one package over [START, LATEST]."""

    days: list[dt.date]
    versions: list[Counter[str]]  # per day: exact version -> downloads (every download)
    installers: list[Counter[str]]  # per day: installer -> downloads (every download)
    countries: list[Counter[str]]  # per day: country code -> downloads


def expected(name: str, start: dt.date = START, end: dt.date = LATEST) -> Expected:
    chunk = build.build_chunk(name, start, end)
    rels = model.releases(name)
    days = [dt.date.fromordinal(int(o)) for o in chunk.days]
    versions, installers, countries = [], [], []
    for i in range(len(days)):
        v: Counter[str] = Counter()
        for slot, index in enumerate(chunk.versions[i]):
            if index >= 0 and chunk.by_version[i, slot]:
                v[rels[index].version] += int(chunk.by_version[i, slot])
        versions.append(v)
        per_installer = chunk.installer[i].sum(axis=0)
        installers.append(
            Counter({k: int(n) for k, n in zip(model.INSTALLERS, per_installer, strict=True) if n})
        )
        per_country = chunk.country[i].sum(axis=0)
        countries.append(
            Counter({k: int(n) for k, n in zip(model.COUNTRY_CODES, per_country, strict=True) if n})
        )
    return Expected(days, versions, installers, countries)


@pytest.fixture(scope="module")
def httpx_model() -> Expected:
    return expected("httpx")


def totals(daily: dict[str, dict[dt.date, int]]) -> dict[str, int]:
    return {k: sum(days.values()) for k, days in daily.items()}


def capped(per_day: list[Counter[str]], top: int) -> tuple[set[str], Counter[str]]:
    """The `top` biggest keys over the window (ties by name) and every key's total."""
    whole: Counter[str] = Counter()
    for day in per_day:
        whole.update(day)
    ranked = sorted(whole, key=lambda k: (-whole[k], k))
    return set(ranked[:top]), whole


def test_versions_over_time_keep_the_top_and_sum_the_rest(
    ch_client: Callable[..., ClickHouseClient], httpx_model: Expected
) -> None:
    with ch_client() as client:
        found = breakdowns.version_series(
            client, "httpx", START, LATEST, grouping=Grouping.EXACT, top=3
        )
    kept, whole = capped(httpx_model.versions, 3)
    assert set(found) == kept | {OTHER}
    assert totals(found) == {
        **{k: whole[k] for k in kept},
        OTHER: sum(n for k, n in whole.items() if k not in kept),
    }
    # Day by day, too: the last day's numbers are the model's.
    last = httpx_model.versions[-1]
    for version in kept:
        assert found[version].get(LATEST, 0) == last[version]


@pytest.mark.parametrize("grouping", [Grouping.MINOR, Grouping.MAJOR])
def test_versions_grouped_by_minor_or_major_line(
    ch_client: Callable[..., ClickHouseClient], httpx_model: Expected, grouping: Grouping
) -> None:
    with ch_client() as client:
        found = breakdowns.version_series(client, "httpx", START, LATEST, grouping=grouping, top=20)
    whole: Counter[str] = Counter()
    for day in httpx_model.versions:
        for version, n in day.items():
            parts = version.split(".")
            whole[".".join(parts[: 2 if grouping is Grouping.MINOR else 1]) + ".*"] += n
    assert totals(found) == dict(whole)
    assert all(key.endswith(".*") for key in found)


def test_installers_leave_mirrors_out_and_fold_the_rest_into_other(
    ch_client: Callable[..., ClickHouseClient], httpx_model: Expected
) -> None:
    with ch_client() as client:
        found = breakdowns.installer_series(client, "httpx", START, LATEST)
    whole: Counter[str] = Counter()
    for day in httpx_model.installers:
        whole.update(day)
    named = ("pip", "uv", "poetry", "pdm", "pipenv", "conda")
    other = sum(whole[k] for k in model.NON_MIRROR_INSTALLERS if k not in named)
    assert totals(found) == {**{k: whole[k] for k in named if whole[k]}, OTHER: other}
    # The total is the day's ClickHouse without_mirrors (the model's).
    assert sum(days[LATEST] for days in found.values() if LATEST in days) == (
        model.day_totals("httpx", LATEST).without_mirrors
    )


def test_uv_grows_against_pip_since_its_launch(
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    with ch_client() as client:
        early = breakdowns.installer_series(
            client, "httpx", model.UV_LAUNCH - 30 * ONE_DAY, model.UV_LAUNCH - ONE_DAY
        )
        late = breakdowns.installer_series(client, "httpx", START, LATEST)
    assert "uv" not in early
    share = totals(late)["uv"] / sum(totals(late).values())
    assert share > 0.1


def test_countries_top_and_other_with_names(
    ch_client: Callable[..., ClickHouseClient], httpx_model: Expected
) -> None:
    with ch_client() as client:
        found = breakdowns.country_series(client, "httpx", START, LATEST, top=5)
        names = breakdowns.country_names(client)
    kept, whole = capped(httpx_model.countries, 5)
    assert totals(found) == {
        **{k: whole[k] for k in kept},
        OTHER: sum(n for k, n in whole.items() if k not in kept),
    }
    assert names["DE"] == model.COUNTRY_NAMES["DE"]
    assert len(names) == len(model.COUNTRY_NAMES)


def test_version_totals_and_releases(ch_client: Callable[..., ClickHouseClient]) -> None:
    with ch_client() as client:
        found = breakdowns.version_totals(client, "httpx")
        listed = breakdowns.releases(client, "httpx")
    chunk = build.build_chunk("httpx", model.first_download_date("httpx"), LATEST)
    rels = model.releases("httpx")
    whole: Counter[str] = Counter()
    for index, n in zip(chunk.versions.ravel(), chunk.by_version.ravel(), strict=True):
        if index >= 0 and n:
            whole[rels[index].version] += int(n)
    assert found == dict(whole)
    pending = model.pending_release("httpx", LATEST)
    assert [r.version for r in listed] == [
        *[r.version for r in model.releases_through("httpx", LATEST)],
        pending.version,
    ]
    assert listed[-1].uploaded == pending.uploaded
    assert pending.version not in found


def test_typed_parameters_keep_a_hostile_name_out_of_the_sql(
    ch_client: Callable[..., ClickHouseClient], ch: DemoClickHouse
) -> None:
    hostile = "x') OR 1=1 --"
    with ch_client() as client:
        assert (
            breakdowns.version_series(
                client, hostile, START, LATEST, grouping=Grouping.EXACT, top=3
            )
            == {}
        )
    assert all(hostile not in q.sql for q in ch.queries)


# --- the cached selectors ------------------------------------------------------------------


def test_selectors_cache_by_latest_day(
    ch_settings: Settings, ch: DemoClickHouse, httpx_model: Expected
) -> None:
    held = selectors.held("httpx")
    assert held is not None and held.latest == LATEST
    first = selectors.series("httpx", held, selectors.Kind.COUNTRIES, START, LATEST)
    asked = len(ch.queries)
    again = selectors.series("httpx", held, selectors.Kind.COUNTRIES, START, LATEST)
    assert again == first and len(ch.queries) == asked
    # Another latest day is another answer.
    moved = selectors.Dates(held.first, LATEST - ONE_DAY)
    selectors.series("httpx", moved, selectors.Kind.COUNTRIES, START, LATEST)
    assert len(ch.queries) == asked + 1


def test_version_table_lists_every_version_and_the_pending_release(
    ch_settings: Settings,
) -> None:
    held = selectors.held("httpx")
    assert held is not None
    rows = selectors.version_table("httpx", held)
    pending = model.pending_release("httpx", LATEST)
    assert rows[0].version == pending.version and rows[0].no_downloads_yet
    assert rows[0].released == pending.day
    listed = {r.version for r in rows}
    assert listed >= {r.version for r in model.releases_through("httpx", LATEST)}
    # Every download of every version: the model's all-time total, mirrors included.
    first = model.first_download_date("httpx")
    assert sum(r.downloads or 0 for r in rows) == sum(
        model.day_totals("httpx", first + n * ONE_DAY).with_mirrors
        for n in range((LATEST - first).days + 1)
    )


def test_adoption_of_the_latest_release(ch_settings: Settings) -> None:
    held = selectors.held("httpx")
    assert held is not None
    found = selectors.adoption("httpx", held)
    pending = model.pending_release("httpx", LATEST)
    assert found.latest is not None and found.latest.version == pending.version
    assert not found.latest.downloads_recorded and found.latest.last_week_share is None
    newest = model.releases_through("httpx", LATEST)[-1]
    recorded = found.latest_recorded
    assert recorded is not None and recorded.version == newest.version
    # The model's share of the last 7 days.
    week = expected("httpx", LATEST - 6 * ONE_DAY, LATEST)
    mine = sum(day[newest.version] for day in week.versions)
    every = sum(sum(day.values()) for day in week.versions)
    assert recorded.last_week_share == round(100 * mine / every, 2)


def test_days_each_recent_release_took_to_reach_half(ch_settings: Settings) -> None:
    held = selectors.held("sqlalchemy")
    assert held is not None
    found = selectors.adoption("sqlalchemy", held)
    measured = [r for r in found.recent if r.days_to_half is not None]
    assert len(measured) >= 2
    for row in found.recent:
        if not row.downloads_recorded:
            continue
        # The model's days from the release on: the first with >= 50 % of the day's downloads.
        span = expected("sqlalchemy", row.released, LATEST)
        halves = [2 * day[row.version] >= sum(day.values()) > 0 for day in span.versions]
        assert row.days_to_half == (halves.index(True) if any(halves) else None)


def test_off_when_clickhouse_is_off(settings: Settings) -> None:
    settings.CLICKHOUSE_URL = ""
    with pytest.raises(ClickHouseDisabled):
        selectors.held("httpx")
    with pytest.raises(ClickHouseDisabled):
        selectors.country_names()


def test_models_agree_with_numpy() -> None:
    # The oracle itself: the chunk's per-version numbers add up to the day's totals.
    chunk = build.build_chunk("httpx", LATEST, LATEST)
    assert int(np.sum(chunk.by_version)) == model.day_totals("httpx", LATEST).with_mirrors

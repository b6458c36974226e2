"""Compare and its exports with `metric=version|installer|country` and a category (issue #16
item 4), on the ClickHouse stand-in. Expected numbers come from the stand-in's model
(tests.packages_app.history.test_breakdowns.expected), never from the code under test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter

import pytest
from django.test import Client
from packaging.version import Version
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.history.breakdown_selectors import INSTALLER_CATEGORIES, Kind
from packages_app.history.breakdowns import Grouping, group_version
from packages_app.models import Metric, Package
from packages_app.pages.compare import parse_compare
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.test_breakdowns import Expected, expected

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)
START = LATEST - 29 * ONE_DAY


@pytest.fixture(scope="module")
def month() -> dict[str, Expected]:
    return {name: expected(name, START, LATEST) for name in ("httpx", "sqlalchemy")}


def installs(day: Counter[str]) -> Counter[str]:
    """A day's installers as the site names them: without mirrors, the unnamed as other."""
    named = set(INSTALLER_CATEGORIES) - {"other"}
    out: Counter[str] = Counter()
    for installer, n in day.items():
        if installer in model.NON_MIRROR_INSTALLERS:
            out[installer if installer in named else "other"] += n
    return out


def pct(part: int, whole: int) -> float:
    return float(f"{100.0 * part / whole:.4g}")


def stats_of(payload: dict[str, object]) -> dict[str, dict[str, object]]:
    rows = payload["stats"]
    assert isinstance(rows, list)
    return {row["name"]: row for row in rows}


def test_uv_share_across_packages_matches_the_model(
    ch_settings: Settings, client: Client, month: dict[str, Expected]
) -> None:
    response = client.get("/compare/?packages=httpx,sqlalchemy&metric=installer&range=30&agg=day")
    assert response.status_code == 200
    payload = response.context["payload"]
    assert payload["metric"] == "installer" and payload["category"] == "uv"
    assert payload["mode"] == "share" and payload["unit"] == "percent"
    stats = stats_of(payload)
    for name in ("httpx", "sqlalchemy"):
        days = [installs(day) for day in month[name].installers]
        uv = sum(d["uv"] for d in days)
        whole = sum(sum(d.values()) for d in days)
        assert stats[name]["total"] == uv
        assert stats[name]["package_total"] == whole
        assert stats[name]["share_pct"] == pct(uv, whole)
        week = days[-7:]
        assert stats[name]["last_week_share_pct"] == pct(
            sum(d["uv"] for d in week), sum(sum(d.values()) for d in week)
        )
        # The chart: one point a day, uv's share of that day's installs.
        data = next(ds["data"] for ds in payload["datasets"] if ds["key"] == name)
        assert data[-1] == pct(days[-1]["uv"], sum(days[-1].values()))
        assert len(data) == 30
    html = response.content.decode()
    # The no-JS tables carry the same numbers.
    assert 'data-chart-table="compare"' in html and "data-breakdown-stats" in html
    assert "uv installs" in html


def test_absolute_mode_and_the_canonical_url(
    ch_settings: Settings, client: Client, month: dict[str, Expected]
) -> None:
    # The default mode of a breakdown (share) and category are left out of the URL.
    redirect = client.get("/compare/?packages=httpx&metric=Installer&category=UV&mode=share")
    assert redirect.status_code == 302
    assert redirect["Location"] == "/compare/?packages=httpx&metric=installer"
    response = client.get(
        "/compare/?packages=httpx&metric=installer&category=pip&range=30&agg=day&mode=absolute"
    )
    assert response.status_code == 200
    payload = response.context["payload"]
    days = [installs(day) for day in month["httpx"].installers]
    assert payload["datasets"][0]["data"] == [d["pip"] for d in days]


def test_a_country_by_code_or_name(
    ch_settings: Settings, client: Client, month: dict[str, Expected]
) -> None:
    response = client.get(
        "/compare/?packages=httpx,sqlalchemy&metric=country&category=Germany&range=30"
    )
    assert response.status_code == 302
    assert "category=DE" in response["Location"]
    response = client.get(response["Location"])
    stats = stats_of(response.context["payload"])
    for name in ("httpx", "sqlalchemy"):
        de = sum(day["DE"] for day in month[name].countries)
        whole = sum(sum(day.values()) for day in month[name].countries)
        assert stats[name]["total"] == de
        assert stats[name]["share_pct"] == pct(de, whole)
    assert "Germany" in response.content.decode()


def test_latest_release_is_each_packages_own(
    ch_settings: Settings, client: Client, month: dict[str, Expected]
) -> None:
    response = client.get("/compare/?packages=httpx,sqlalchemy&metric=version&range=30")
    assert response.status_code == 200
    stats = stats_of(response.context["payload"])
    for name in ("httpx", "sqlalchemy"):
        # The newest final release with downloads recorded (one uploaded on the latest day
        # may have none yet).
        finals = [
            r.version
            for r in model.releases_through(name, LATEST)
            if not Version(r.version).is_prerelease
        ]
        newest = next(v for v in reversed(finals) if any(d[v] for d in month[name].versions))
        assert stats[name]["category_key"] == newest
        mine = sum(day[newest] for day in month[name].versions)
        assert stats[name]["total"] == mine
    assert "Latest release" in response.content.decode()


def test_a_major_line_counts_every_release_of_it(
    ch_settings: Settings, client: Client, month: dict[str, Expected]
) -> None:
    versions = month["sqlalchemy"].versions
    major: Counter[str] = Counter()
    for day in versions:
        for version, n in day.items():
            major[group_version(version, Grouping.MAJOR)] += n
    key = major.most_common(1)[0][0]
    response = client.get(
        f"/compare/?packages=sqlalchemy&metric=version&category={key}&range=30&mode=absolute"
    )
    assert response.status_code == 200
    stats = stats_of(response.context["payload"])
    assert stats["sqlalchemy"]["total"] == major[key]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("metric=installer&category=npm", "category"),
        ("metric=version&category=2.*.*", "category"),
        ("metric=version&category=<b>", "category"),
        ("metric=country&category=Atlantis", "category"),
        ("metric=country&category=ZZ", "category"),
        ("metric=installer&mode=share_pypi", "mode"),
        ("metric=shoe", "metric"),
    ],
)
def test_bad_options_are_form_errors(
    ch_settings: Settings, client: Client, query: str, field: str
) -> None:
    response = client.get(f"/compare/?packages=httpx&{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some options are not valid" in html
    assert f"<li>{field}: " in html
    export = client.get(f"/compare/export.csv?packages=httpx&{query}")
    assert export.status_code == 400
    assert export.content.decode().startswith(f"Invalid options: {field}: ")


def test_not_offered_when_clickhouse_is_off(settings: Settings, client: Client) -> None:
    settings.CLICKHOUSE_URL = ""
    Package.objects.create(name="httpx")
    response = client.get("/compare/?packages=httpx&metric=installer&category=uv")
    assert response.status_code == 400
    html = response.content.decode()
    assert "metric: must be one of overall, python_major, python_minor, system</li>" in html
    assert "Installer</a>" not in client.get("/compare/?packages=httpx").content.decode()


def test_metric_links_and_an_unknown_name(ch_settings: Settings, client: Client) -> None:
    html = client.get("/compare/?packages=httpx,no-such-package-here").content.decode()
    assert 'href="/compare/?packages=httpx,no-such-package-here&amp;metric=installer"' in html
    response = client.get("/compare/?packages=httpx,no-such-package-here&metric=installer")
    assert response.status_code == 200
    assert response.context["payload"]["packages"] == ["httpx"]
    html = response.content.decode()
    assert "no-such-package-here</span>: not charted, ClickHouse has never seen" in html


def test_exports_carry_the_same_numbers(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    query = "?packages=httpx,sqlalchemy&metric=version&range=30"
    page = client.get("/compare/" + query)
    payload = page.context["payload"]
    ch.clear_queries()
    as_json = client.get("/compare/export.json" + query)
    assert as_json.status_code == 200
    body = json.loads(as_json.content)
    assert body["metric"] == "version" and body["category"] == "latest"
    assert body["category_label"] == "Latest release"
    assert [s["data"] for s in body["series"]] == [ds["data"] for ds in payload["datasets"]]
    # Same cache: no ClickHouse query for the export.
    assert ch.queries == []
    as_csv = client.get("/compare/export.csv" + query)
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    stats = stats_of(payload)
    for row in rows:
        assert row["metric"] == "version"
        # "latest" is written as each package's own release.
        assert row["category"] == stats[row["package"]]["category_key"]
        assert row["unit"] == "percent"
    assert 'filename="compare-httpx-sqlalchemy-version-latest-' in as_csv["Content-Disposition"]


def test_clickhouse_down_is_a_notice_and_a_503_export(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    ch.set_faults(status=503)
    response = client.get("/compare/?packages=httpx&metric=installer&range=90")
    assert response.status_code == 200
    assert "ClickHouse is not answering" in response.content.decode()
    assert (
        client.get("/compare/export.csv?packages=httpx&metric=installer&range=90").status_code
        == 503
    )


def test_switching_metric_moves_the_mode_with_its_default(ch_settings: Settings) -> None:
    plain, _ = parse_compare({"packages": "httpx"})
    # overall, absolute (its default) -> installer: share, its default, left out.
    assert plain.querystring(metric=Kind.INSTALLERS) == "?packages=httpx&metric=installer"
    shares, _ = parse_compare({"packages": "httpx", "mode": "share_pypi"})
    # A mode the breakdown has not: its default.
    assert shares.querystring(metric=Kind.VERSIONS) == "?packages=httpx&metric=version"
    uv, _ = parse_compare({"packages": "httpx", "metric": "installer", "mode": "absolute"})
    # A chosen mode the new metric has stays; the category resets to the metric's default.
    assert uv.querystring(metric=Kind.COUNTRIES) == ("?packages=httpx&metric=country&mode=absolute")
    back, _ = parse_compare({"packages": "httpx", "metric": "installer", "category": "pdm"})
    assert back.querystring(metric=Metric.SYSTEM) == "?packages=httpx&metric=system"

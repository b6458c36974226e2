"""The package page's versions, installers and countries sections (issue #16, items 2-4).

On the ClickHouse stand-in; numbers checked against its model (clickhouse_data), never
against the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.test_breakdowns import expected
from tests.packages_app.history.test_cross_check import both_sources
from tests.packages_app.pages.package_data import make_package

pytestmark = pytest.mark.django_db
ONE_DAY = dt.timedelta(days=1)
HX = {"HX-Request": "true"}


def payload_of(html: str, kind: str) -> dict[str, object]:
    found = re.search(
        rf'<script id="breakdown-{kind}-data" type="application/json">(.*?)</script>', html, re.S
    )
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def table_rows(html: str, attribute: str) -> list[list[str]]:
    start = html.index(attribute)
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = []
    for row in body.split("<tr>")[1:]:
        cells = re.findall(r"<td[^>]*>(.*?)(?=<td|</tr>|$)", row, re.S)
        rows.append([re.sub(r"<[^>]+>", "", c).strip() for c in cells])
    return rows


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_package_page_has_lazy_sections_with_plain_links(
    ch_settings: Settings, client: Client
) -> None:
    page = client.get("/packages/httpx/?range=90")
    assert page.status_code == 200
    html = page.content.decode()
    for kind in ("versions", "installers", "countries"):
        url = f"/packages/httpx/breakdowns/{kind}/?range=90"
        assert f'hx-get="{url}" hx-trigger="revealed"' in html
        assert f'<a href="{url}">' in html
    # Lazy: no breakdown numbers in the first response.
    assert "breakdown-versions-data" not in html


def test_no_sections_when_clickhouse_is_off(settings: Settings, client: Client) -> None:
    settings.CLICKHOUSE_URL = ""
    make_package("stored-pkg", first=LATEST - 60 * ONE_DAY, latest=LATEST)
    page = client.get("/packages/stored-pkg/")
    assert page.status_code == 200 and "chart-data" in page.content.decode()
    assert "breakdown" not in page.content.decode()
    assert client.get("/packages/httpx/breakdowns/versions/").status_code == 404
    # On, the same stored package's page links its sections.
    settings.CLICKHOUSE_URL = "http://127.0.0.1:9"
    assert (
        "/packages/stored-pkg/breakdowns/versions/"
        in client.get("/packages/stored-pkg/").content.decode()
    )


def test_installers_of_an_untracked_package_match_the_model(
    ch_settings: Settings, client: Client
) -> None:
    response = client.get("/packages/sqlalchemy/breakdowns/installers/?range=30", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="breakdown-installers"')  # the partial only
    model_days = expected("sqlalchemy", LATEST - 29 * ONE_DAY, LATEST)
    whole: Counter[str] = Counter()
    for day in model_days.installers:
        whole.update(day)
    rows = {r[0]: number(r[3]) for r in table_rows(html, 'data-ranking="installers"')}
    assert rows["uv"] == whole["uv"] and rows["pip"] == whole["pip"]
    named = {"pip", "uv", "poetry", "pdm", "pipenv", "conda"}
    assert rows["other installers"] == sum(
        whole[k] for k in model.NON_MIRROR_INSTALLERS if k not in named
    )
    # The chart's data table: the last day's uv downloads.
    payload = payload_of(html, "installers")
    chart = payload["charts"][0]  # type: ignore[index]
    labels = [d["label"] for d in chart["datasets"]]
    table = table_rows(html, 'data-chart-table="installers"')
    last = table[-1]
    assert number(last[1 + labels.index("uv")]) == model_days.installers[-1]["uv"]
    assert not Package.objects.filter(name="sqlalchemy").exists()


def test_share_mode_adds_up_to_a_hundred(ch_settings: Settings, client: Client) -> None:
    response = client.get("/packages/sqlalchemy/breakdowns/installers/?range=30&mode=share")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html  # a page of its own without htmx
    for row in table_rows(html, 'data-chart-table="installers"'):
        total = sum(float(c.rstrip("%")) for c in row[1:] if c != "—")
        assert abs(total - 100) < 0.5
    assert 'aria-current="true">Share</a>' in html


def test_versions_section_adoption_and_every_version(ch_settings: Settings, client: Client) -> None:
    response = client.get(
        "/packages/httpx/breakdowns/versions/?grouping=exact&range=30", headers=HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    pending = model.pending_release("httpx", LATEST)
    newest = model.releases_through("httpx", LATEST)[-1]
    assert f"{pending.version}</strong>, released" in html
    assert "no downloads recorded yet" in html
    versions = table_rows(html, "data-versions")
    assert versions[0][0] == pending.version and "no downloads recorded yet" in versions[0][2]
    listed = {r[0] for r in versions}
    assert {r.version for r in model.releases_through("httpx", LATEST)} <= listed
    # The last day of the exact-version chart is the model's for the newest release.
    payload = payload_of(html, "versions")
    labels = [d["label"] for d in payload["charts"][0]["datasets"]]  # type: ignore[index]
    last = table_rows(html, 'data-chart-table="versions"')[-1]
    today = expected("httpx", LATEST, LATEST).versions[0]
    assert number(last[1 + labels.index(newest.version)]) == today[newest.version]


def test_versions_grouped_by_major(ch_settings: Settings, client: Client) -> None:
    html = client.get("/packages/httpx/breakdowns/versions/?grouping=major&range=30").content
    payload = payload_of(html.decode(), "versions")
    keys = {d["key"] for d in payload["charts"][0]["datasets"]}  # type: ignore[index]
    assert keys == {"0.*"}


def test_countries_with_names_and_the_tracked_package(
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
    client: Client,
) -> None:
    both_sources("httpx", demo, client_for, ch_client)
    page = client.get("/packages/httpx/")
    assert (
        page.status_code == 200 and "/packages/httpx/breakdowns/countries/" in page.content.decode()
    )
    response = client.get("/packages/httpx/breakdowns/countries/?range=30", headers=HX)
    assert response.status_code == 200
    html = response.content.decode()
    model_days = expected("httpx", LATEST - 29 * ONE_DAY, LATEST)
    whole: Counter[str] = Counter()
    for day in model_days.countries:
        whole.update(day)
    rows = {r[0]: number(r[3]) for r in table_rows(html, 'data-ranking="countries"')}
    assert rows["United States of America"] == whole["US"]
    assert rows["India"] == whole["IN"]
    assert rows.get("unknown", 0) == whole[""] or "other countries" in rows
    assert sum(rows.values()) == sum(whole.values())


def test_unknown_name_is_a_clear_404(ch_settings: Settings, client: Client) -> None:
    response = client.get("/packages/never-heard-of-it/breakdowns/versions/")
    assert response.status_code == 404
    assert "has never seen a project called" in response.content.decode()
    assert client.get("/packages/httpx/breakdowns/licences/").status_code == 404


def test_bad_options_are_a_400_with_the_problems_listed(
    ch_settings: Settings, client: Client
) -> None:
    response = client.get("/packages/httpx/breakdowns/versions/?mode=pie&grouping=patch&range=7")
    assert response.status_code == 400
    html = response.content.decode()
    assert "mode: must be one of absolute, share" in html
    assert "grouping: must be one of exact, minor, major" in html
    assert "range: must be one of" in html
    assert "breakdown-versions-data" in html  # the default view is still shown


def test_a_failing_clickhouse_is_a_503_not_a_500(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    ch.set_faults(status=503)
    response = client.get("/packages/httpx/breakdowns/countries/", headers=HX)
    assert response.status_code == 503
    assert "did not answer" in response.content.decode()


def test_a_warm_section_does_not_query_clickhouse(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    cold = client.get("/packages/sqlalchemy/breakdowns/countries/?range=all", headers=HX)
    assert cold.status_code == 200 and ch.queries
    ch.clear_queries()
    warm = client.get("/packages/sqlalchemy/breakdowns/countries/?range=all", headers=HX)
    assert warm.status_code == 200 and ch.queries == []
    assert warm.content == cold.content


def test_a_window_before_the_first_download_says_so(ch_settings: Settings, client: Client) -> None:
    first = model.first_download_date("sqlalchemy")
    end = first - 10 * ONE_DAY
    response = client.get(
        f"/packages/sqlalchemy/breakdowns/countries/?start={end - 30 * ONE_DAY}&end={end}",
        headers=HX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "ClickHouse holds no downloads of sqlalchemy in that window" in html
    assert f"its days run from {first:%-d %b %Y}" in html
    assert "breakdown-countries-data" not in html

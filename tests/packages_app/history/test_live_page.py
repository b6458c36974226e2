"""An untracked package's page, read live from the ClickHouse stand-in (issue #15, item 4)."""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from pytest_django import Settings

from packages_app.demo.clickhouse import DemoClickHouse
from packages_app.demo.clickhouse_data import model
from packages_app.demo.upstream import DemoUpstream
from packages_app.history import live
from packages_app.history.client import ClickHouseClient
from packages_app.models import Package
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app.demo.clickhouse_support import LATEST
from tests.packages_app.history.conftest import both_sources_from

pytestmark = pytest.mark.django_db

ONE_DAY = dt.timedelta(days=1)


def chart_numbers(html: str, chart: str) -> str:
    start = html.index(f'data-chart-table="{chart}"')
    return html[start : html.index("</table>", start)]


def test_an_anonymous_visitor_sees_an_untracked_package_from_clickhouse(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/packages/httpx/?range=30")
    assert response.status_code == 200
    html = response.content.decode()
    assert "read live from ClickHouse" in html and "not tracked here" in html
    # The all-time total is every download ClickHouse holds, without mirrors.
    first = model.first_download_date("httpx")
    days = [first + n * ONE_DAY for n in range((LATEST - first).days + 1)]
    expected = sum(model.day_totals("httpx", day).without_mirrors for day in days)
    assert response.context["package"].total.without_mirrors == expected
    assert f"{expected:,}" in html
    # The same chart layer as a tracked package: five charts, 30 days ending on the latest.
    payload = response.context["payload"]
    assert [c["id"] for c in payload["charts"]] == [
        "overall",
        "python_major",
        "python_minor_share",
        "python_minor",
        "system",
    ]
    assert payload["window"]["end"] == LATEST.isoformat()
    window = [LATEST - n * ONE_DAY for n in range(30)]
    assert payload["summary"]["total"] == sum(
        model.day_totals("httpx", day).without_mirrors for day in window
    )
    overall = {d["key"]: d["data"] for d in payload["charts"][0]["datasets"]}
    assert overall["with_mirrors"][-1] == model.day_totals("httpx", LATEST).with_mirrors
    assert "chart-data" in html and chart_numbers(html, "overall")
    # Not a stored package: nothing was written.
    assert not Package.objects.filter(name="httpx").exists()


def test_a_warm_view_does_not_query_clickhouse(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    cold = client.get("/packages/sqlalchemy/?range=all")
    assert cold.status_code == 200 and ch.queries
    ch.clear_queries()
    warm = client.get("/packages/sqlalchemy/?range=all")
    assert warm.status_code == 200
    assert ch.queries == []
    assert warm.context["payload"] == cold.context["payload"]
    # Other options are another answer: ClickHouse is asked for that window only.
    client.get("/packages/sqlalchemy/?range=90")
    assert ch.queries


def test_a_new_latest_day_in_clickhouse_is_a_new_answer(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    ch.set_lag(3)
    lagging = client.get("/packages/httpx/")
    assert lagging.context["payload"]["window"]["end"] == (LATEST - 3 * ONE_DAY).isoformat()
    ch.set_lag(0)
    # The latest day is trusted for a few minutes; once it expires the new day shows.
    cache.delete(f"chlive:summary:v1:{live.source_key()}:httpx")
    fresh = client.get("/packages/httpx/")
    assert fresh.context["payload"]["window"]["end"] == LATEST.isoformat()


def test_the_chart_controls_answer_the_htmx_partial(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/packages/httpx/?range=all&agg=month", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Push-Url"] == "/packages/httpx/?range=all&agg=month"
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="charts"')
    script = html.split('id="chart-data"', 1)[1].split(">", 1)[1].split("</script>", 1)[0]
    data = json.loads(script)
    assert data["window"]["start"] == model.first_download_date("httpx").isoformat()


def test_invalid_options_show_the_default_charts_with_the_problems(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/packages/httpx/?range=nope")
    assert response.status_code == 400
    assert response.context["options_errors"] and response.context["payload"] is not None


def test_a_name_clickhouse_has_never_seen_gets_a_helpful_404(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    response = client.get("/packages/no-such-project-anywhere/")
    assert response.status_code == 404
    assert "has never seen a project called" in response.content.decode()


def test_an_invalid_name_is_the_same_404_as_before(ch_settings: Settings, client: Client) -> None:
    assert client.get("/packages/-bad-/").status_code == 404


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ({"status": 503}, "did not answer"),
        ({"malformed": True}, "did not answer"),
        ({"quota": True}, "over its query quota"),
    ],
)
def test_clickhouse_failing_gets_a_clear_page_and_a_log_line(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    caplog: pytest.LogCaptureFixture,
    fault: dict[str, object],
    says: str,
) -> None:
    ch_settings.CLICKHOUSE_PAUSE_AFTER_QUOTA = 0.05
    ch.set_faults(**fault)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="packages_app.pages.views.live"):
        response = client.get("/packages/httpx/")
    assert response.status_code == 503
    assert says in response.content.decode()
    assert any("ClickHouse could not answer for httpx" in r.getMessage() for r in caplog.records)


def test_with_the_source_off_an_untracked_name_is_today_s_page(
    settings: Settings, client: Client
) -> None:
    settings.CLICKHOUSE_URL = ""
    response = client.get("/packages/httpx/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "is not tracked here" in html and "ClickHouse" not in html


def test_a_signed_in_user_can_track_it_from_the_live_page(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    user = get_user_model().objects.create_user("ada", password="pw-123456789")
    client.force_login(user)
    page = client.get("/packages/httpx/").content.decode()
    assert "Track httpx" in page and 'action="/packages/httpx/track/"' in page
    response = client.post("/packages/httpx/track/")
    assert response.status_code == 302
    assert Package.objects.get(name="httpx").tracked


def test_the_live_page_exports_what_its_charts_show(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    page = client.get("/packages/httpx/?range=30")
    response = client.get("/packages/httpx/export.json?range=30")
    assert response.status_code == 200
    exported = json.loads(response.content)
    assert exported["package"] == "httpx"
    assert exported["window"] == page.context["payload"]["window"]
    assert client.get("/packages/no-such-project-anywhere/export.csv").status_code == 404
    ch.set_faults(status=503)
    cache.clear()
    assert client.get("/packages/httpx/export.csv?range=30").status_code == 503


def charts_section(html: str) -> str:
    start = html.index('<section id="charts"')
    return html[start : html.index("</section>", start)]


def test_the_live_page_is_no_heavier_than_the_tracked_one(
    ch_settings: Settings,
    ch: DemoClickHouse,
    client: Client,
    demo: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    ch_client: Callable[..., ClickHouseClient],
) -> None:
    """The same charts partial from the same context builder (pages/package.charts_context):
    the live page differs from the tracked one only around it (no Python support panel,
    badges, agreement line), and its charts section only by the tracked page's own markers."""
    live_page = client.get("/packages/httpx/").content.decode()
    both_sources_from("httpx", demo, client_for, ch_client)
    tracked = client.get("/packages/httpx/").content.decode()
    assert "read live from ClickHouse" in live_page and "read live" not in tracked
    assert len(live_page.encode()) < len(tracked.encode())
    live_charts, tracked_charts = charts_section(live_page), charts_section(tracked)
    # The first chart's table in the page, the four below it fetched when opened (both).
    assert live_charts.count("<table") == tracked_charts.count("<table") == 1
    assert live_charts.count("/tables/") == tracked_charts.count("/tables/") == 8
    # The tracked page adds the sources' disagreeing days to its notes (~0.3 KB each).
    assert abs(len(tracked_charts) - len(live_charts)) < 2_000


def test_the_live_page_fetches_its_lower_tables_from_clickhouse(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    """The live page's tables below the first chart are fetched when opened, like a tracked
    package's, from the live bundle: the system table's last day adds up to the stand-in's
    downloads of that day (upstream's systems split the non-mirror downloads)."""
    page = client.get("/packages/httpx/?range=30").content.decode()
    urls = {
        chart: html.unescape(url)
        for url, chart in re.findall(r'hx-get="(/packages/httpx/tables/([a-z_]+)/[^"]*)"', page)
    }
    assert set(urls) == {"python_major", "python_minor_share", "python_minor", "system"}
    assert urls["system"] == "/packages/httpx/tables/system/?range=30"
    ch.clear_queries()
    fragment = client.get(urls["system"], headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    table = fragment.content.decode()
    assert table.startswith('<table data-chart-table="system">') and "<html" not in table
    assert not ch.queries  # cut from the page's cached bundle
    # Compact rows (no </td>, </tr>: chart.data_table): the last row's day, then its cells.
    last_row = table.split("<tr>")[-1].split("</tbody>")[0]
    label, *numbers = last_row.split("<td>")[1:]
    assert label.startswith(LATEST.isoformat())
    cells = [int(n.replace(",", "")) for n in numbers]
    assert sum(cells) == model.day_totals("httpx", LATEST).without_mirrors
    # Without JavaScript: a page of its own.
    assert "<html" in client.get(urls["system"]).content.decode()


def test_a_live_table_says_what_went_wrong(
    ch_settings: Settings, ch: DemoClickHouse, client: Client
) -> None:
    assert client.get("/packages/never-seen-here/tables/system/").status_code == 404
    ch.set_faults(status=503)
    response = client.get("/packages/httpx/tables/system/?range=90", headers={"HX-Request": "1"})
    assert response.status_code == 503
    assert "ClickHouse is not answering" in response.content.decode()


def test_a_cold_page_fits_the_default_budget(
    ch_settings: Settings, ch: DemoClickHouse, client: Client, tmp_path: Path
) -> None:
    """ClickPy's budget (2 queries a second, 60 a minute) and a page that waits at most a
    second for a slot: a cold untracked page asks two queries (its dates and totals, then
    its four series as one), so it never waits; four round trips for the series made the
    third query wait past the second and the page a 503."""
    ch_settings.CLICKHOUSE_RATE_PER_SECOND = 2.0
    ch_settings.CLICKHOUSE_RATE_PER_MINUTE = 60.0
    # A budget of this test's own (a file under its own VAR_DIR), untouched by the others.
    ch_settings.REDIS_URL = ""
    ch_settings.VAR_DIR = tmp_path
    response = client.get("/packages/httpx/?range=all")
    assert response.status_code == 200
    assert len(ch.queries) == 2
    payload = response.context["payload"]
    assert payload["window"]["start"] == model.first_download_date("httpx").isoformat()


def test_dates_and_summary_are_one_cached_answer(ch_settings: Settings, ch: DemoClickHouse) -> None:
    found = live.summary("httpx")
    assert found is not None
    held, total = found
    assert held == live.dates("httpx")
    assert held.first == model.first_download_date("httpx") and held.latest == LATEST
    assert total.without_mirrors <= total.with_mirrors
    assert len(ch.queries) == 1
    assert live.dates("no-such-project-anywhere") is None
    assert live.summary("no-such-project-anywhere") is None
    assert len(ch.queries) == 2

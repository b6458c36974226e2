"""Upstream's bytes on two edge cases (issue #13, item 6).

- `recent?period=day|week|month` for a package upstream holds no row for in that period
  answers 404, as upstream does, also after a refresh read the zero-filled `recent`.
- The default window is upstream's purge horizon, which is global: the ETL date (the latest
  date held for any package) and the 180 days before it, not the package's own latest date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone

from packages_app.demo import data as demo_data
from packages_app.demo.upstream import DemoUpstream
from packages_app.models import Category, Metric, Package
from packages_app.sync import services
from packages_app.sync.upstream import UpstreamClient
from tests.packages_app import golden
from tests.stored_points import Point, store

D = golden.D  # the captures' ETL date: the latest date the golden seed holds


def _days_ago(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def _dormant(name: str, days_before_d: list[int]) -> Package:
    """A package whose overall (with_mirrors) data stops before the ETL date."""
    dates = [_days_ago(n) for n in days_before_d]
    package = Package.objects.create(
        name=name,
        upstream_state="ok",
        last_refreshed_at=golden.REFRESHED_AT,
        data_version=1,
        first_date=min(dates),
        latest_date=max(dates),
    )
    category, _ = Category.objects.get_or_create(metric=Metric.OVERALL, name="with_mirrors")
    store(Point(package, category, date, 3) for date in dates)
    return package


def _dates(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["date"] for row in response.json()["data"]]


# --- The default window ends at the ETL date -------------------------------------------------


def test_default_window_ends_at_the_etl_date_not_the_packages_own(
    seeded: dict[str, Package], client: Client
) -> None:
    _dormant("dormant-pkg", [190, 120, 60])
    # Upstream purged D-190 (older than D-180); anchored at the package's own latest date
    # (D-60) it would still be shown.
    assert _dates(client.get("/api/packages/dormant-pkg/overall")) == [
        _days_ago(120).isoformat(),
        _days_ago(60).isoformat(),
    ]
    # start_date still reaches everything held.
    assert len(_dates(client.get("/api/packages/dormant-pkg/overall?start_date=2000-01-01"))) == 3


def test_a_package_with_nothing_inside_the_horizon_answers_as_upstream(
    seeded: dict[str, Package], client: Client
) -> None:
    _dormant("long-gone", [181, 300])
    response = client.get("/api/packages/long-gone/overall")
    assert (response.status_code, response.content) == (404, b"404")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    breakdown = client.get("/api/packages/long-gone/system")
    assert breakdown.status_code == 200 and breakdown.json()["data"] == []


def test_the_window_moves_with_the_etl_date_and_never_serves_a_stale_cached_answer(
    seeded: dict[str, Package], client: Client
) -> None:
    dormant = _dormant("dormant-pkg", [180, 60])
    url = "/api/packages/dormant-pkg/overall"
    before = client.get(url)
    assert _dates(before) == [_days_ago(180).isoformat(), _days_ago(60).isoformat()]
    assert client.get(url).content == before.content  # now from the cache
    # Another package's refresh brings the next day: the ETL date moves on, while the
    # dormant package's own data_version does not change.
    demo_pkg = seeded["demo-pkg"]
    category = Category.objects.get(metric=Metric.OVERALL, name="with_mirrors")
    store([Point(demo_pkg, category, D + dt.timedelta(days=1), 5)])
    Package.objects.filter(pk=demo_pkg.pk).update(
        latest_date=D + dt.timedelta(days=1),
        data_version=demo_pkg.data_version + 1,
        last_refreshed_at=timezone.now(),
    )
    after = client.get(url)
    assert _dates(after) == [_days_ago(60).isoformat()]  # D-180 left upstream's horizon
    assert after["ETag"] != before["ETag"]
    dormant.refresh_from_db()
    assert dormant.data_version == 1
    # An explicit window does not depend on the ETL date.
    explicit = f"{url}?start_date={_days_ago(200)}&end_date={D}"
    assert len(_dates(client.get(explicit))) == 2


# --- recent?period= without a row upstream is 404 -------------------------------------------


DORMANT_ROWS: list[demo_data.Row] = [
    # Only a month row upstream: one without_mirrors day 20 days before the ETL date.
    ("with_mirrors", _days_ago(20), 9),
    ("without_mirrors", _days_ago(20), 8),
]


@pytest.fixture
def upstream_with_dormant(monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoUpstream]:
    """The golden demo upstream, plus a package downloaded 20 days before its ETL date."""
    golden_series = demo_data.golden_series

    def with_dormant(today: dt.date) -> dict[str, dict[str, list[demo_data.Row]]]:
        return {**golden_series(today), "quiet-pkg": {"overall": DORMANT_ROWS}}

    monkeypatch.setattr(demo_data, "golden_series", with_dormant)
    with DemoUpstream.running(
        today=golden.GOLDEN_TODAY, dataset="golden", rate_limit=False
    ) as server:
        yield server


@pytest.mark.django_db
def test_recent_periods_answer_upstreams_bytes_after_a_refresh(
    upstream_with_dormant: DemoUpstream,
    client_for: Callable[..., UpstreamClient],
    client: Client,
) -> None:
    package, _ = services.package_track(name="quiet-pkg")
    result = services.refresh_package(
        package_id=package.pk, client=client_for(upstream_with_dormant)
    )
    assert result.status == "ok"
    for query in ("", "?period=day", "?period=week", "?period=month"):
        theirs = httpx.get(f"{upstream_with_dormant.url}/packages/quiet-pkg/recent{query}")
        ours = client.get(f"/api/packages/quiet-pkg/recent{query}")
        assert (ours.status_code, ours["Content-Type"], ours.content) == (
            theirs.status_code,
            theirs.headers["content-type"],
            theirs.content,
        ), query
    # What upstream answers: zero-filled without a period, 404 for a period with no row.
    assert client.get("/api/packages/quiet-pkg/recent").json()["data"] == {
        "last_day": 0,
        "last_month": 8,
        "last_week": 0,
    }
    assert client.get("/api/packages/quiet-pkg/recent?period=day").status_code == 404

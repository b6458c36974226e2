"""refresh_package's write, with a scripted upstream handed in as its `client`.

The answers are written here, so what reaches the database (the recent row, the kept
value) and the warning about a suspect zero can be compared with hand-written values.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from packages_app.models import Category, Metric, Package, RecentDownloads
from packages_app.sync import services
from packages_app.sync.upstream import RecentPayload, SeriesPayload
from tests.stored_points import held

pytestmark = pytest.mark.django_db

D = dt.date
Rows = list[tuple[str, dt.date, int]]


class ServingClient:
    """Answers every series endpoint from `rows` (empty when not given) and `recent`."""

    def __init__(self, rows: dict[str, Rows], recent: tuple[int, int, int]) -> None:
        self.rows, self.recent_values, self.calls = rows, recent, 0

    def series(self, endpoint: str, name: str) -> SeriesPayload:
        self.calls += 1
        return SeriesPayload(endpoint, name, self.rows.get(endpoint, []))

    def recent(self, name: str) -> RecentPayload:
        self.calls += 1
        return RecentPayload(name, *self.recent_values)

    def close(self) -> None:
        pass


def refresh(package: Package, client: ServingClient) -> services.RefreshResult:
    result = services.refresh_package(package_id=package.pk, client=client)  # type: ignore[arg-type]
    assert result.status == "ok", result.error
    return result


def test_zero_recent_values_are_stored_as_missing_rows() -> None:
    """Upstream zero-fills a period it holds no row for: the 0s are stored as None (the
    compatible API answers `period=` for them with upstream's 404)."""
    package, _ = services.package_track(name="quiet-pkg")
    client = ServingClient(
        {
            "overall": [
                ("with_mirrors", D(2026, 11, 30), 5),
                ("without_mirrors", D(2026, 11, 30), 0),
            ],
            "python_major": [("3", D(2026, 11, 30), 5)],
        },
        recent=(0, 0, 0),
    )
    refresh(package, client)
    row = RecentDownloads.objects.get(package=package)
    assert (row.last_day, row.last_week, row.last_month) == (None, None, None)


def test_a_zero_over_a_held_value_is_kept_and_logged_with_what_was_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    package, _ = services.package_track(name="outage-pkg")
    day = D(2026, 11, 29)
    refresh(package, ServingClient({"overall": [("without_mirrors", day, 7)]}, (7, 7, 7)))
    with caplog.at_level(logging.WARNING):
        result = refresh(
            package, ServingClient({"overall": [("without_mirrors", day, 0)]}, (7, 7, 7))
        )
    category = Category.objects.get(metric=Metric.OVERALL, name="without_mirrors")
    assert (result.kept_zeros, result.updated, result.unchanged) == (1, 0, 1)
    assert held(package) == {(category.pk, day, 7)}
    assert [r.getMessage() for r in caplog.records if r.name == services.__name__] == [
        f"upstream reports 0 for outage-pkg category {category.pk} on 2026-11-29 "
        "where we hold 7; kept ours"
    ]


def test_new_points_alone_bump_the_data_version_and_success_clears_the_last_error() -> None:
    package, _ = services.package_track(name="steady-pkg")
    Package.objects.filter(pk=package.pk).update(last_error="UpstreamFailure: earlier")
    first = {"overall": [("without_mirrors", D(2026, 11, 29), 3)]}
    refresh(package, ServingClient(first, (3, 3, 3)))
    package.refresh_from_db()
    assert (package.data_version, package.last_error) == (1, "")
    # A new day, the same recent values: the points alone changed.
    second = {
        "overall": [
            ("without_mirrors", D(2026, 11, 29), 3),
            ("without_mirrors", D(2026, 11, 30), 4),
        ]
    }
    refresh(package, ServingClient(second, (3, 3, 3)))
    package.refresh_from_db()
    assert package.data_version == 2

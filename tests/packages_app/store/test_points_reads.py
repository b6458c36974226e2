"""The point store's reads and writes, pinned down where mutation testing found them loose.

Every expected value is written out by hand. Several packages and several categories
are stored side by side, so a read that forgets one of its filters, or its order, hands
back someone else's points (docs/testing.md, "store").
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from packages_app.models import Category, DownloadMonth, Metric, Package
from packages_app.store import points
from tests.stored_points import held

D = dt.date
pytestmark = pytest.mark.django_db

# alpha, beta, without_mirrors, system "null", python_major "null"
Stored = tuple[Package, Package, Category, Category, Category]


def category(metric: Metric, name: str) -> Category:
    return Category.objects.get_or_create(metric=metric, name=name)[0]


@pytest.fixture
def two_packages() -> Stored:
    """Two packages holding the same categories; "null" exists under two metrics.

    alpha: without_mirrors 1..3 Jan 2025 = 10, 11, 12; 1 Mar 2025 = 30;
           system "null" 2 Jan = 5; python_major "null" 2 Jan = 700.
    beta:  without_mirrors 1 Jan 2025 = 1000; 1 Mar 2025 = 3000.
    """
    alpha = Package.objects.create(name="alpha")
    beta = Package.objects.create(name="beta")
    without = category(Metric.OVERALL, "without_mirrors")
    system_null = category(Metric.SYSTEM, "null")
    major_null = category(Metric.PYTHON_MAJOR, "null")
    # March before January: the store's order must not depend on the order of writes.
    points.put(alpha.pk, [(without.pk, D(2025, 3, 1), 30)])
    points.put(
        alpha.pk,
        [
            (without.pk, D(2025, 1, 1), 10),
            (without.pk, D(2025, 1, 2), 11),
            (without.pk, D(2025, 1, 3), 12),
            (system_null.pk, D(2025, 1, 2), 5),
            (major_null.pk, D(2025, 1, 2), 700),
        ],
    )
    points.put_many(
        {beta.pk: [(without.pk, D(2025, 3, 1), 3000), (without.pk, D(2025, 1, 1), 1000)]}
    )
    return alpha, beta, without, system_null, major_null


def test_put_many_stores_each_package_its_own_points(two_packages: Stored) -> None:
    alpha, beta, without, system_null, major_null = two_packages
    assert held(beta) == {(without.pk, D(2025, 1, 1), 1000), (without.pk, D(2025, 3, 1), 3000)}
    assert points.count(alpha.pk) == 6
    assert points.count(beta.pk) == 2


def test_a_package_without_points_counts_zero() -> None:
    assert points.count(Package.objects.create(name="nothing").pk) == 0


def test_read_of_several_packages_orders_by_package_then_category_then_date(
    two_packages: Stored,
) -> None:
    alpha, beta, without, _, _ = two_packages
    rows = list(
        points.read(package_ids=[beta.pk, alpha.pk], metrics=[Metric.OVERALL], category=None)
    )
    assert rows == [
        (alpha.pk, Metric.OVERALL, "without_mirrors", D(2025, 1, 1), 10),
        (alpha.pk, Metric.OVERALL, "without_mirrors", D(2025, 1, 2), 11),
        (alpha.pk, Metric.OVERALL, "without_mirrors", D(2025, 1, 3), 12),
        (alpha.pk, Metric.OVERALL, "without_mirrors", D(2025, 3, 1), 30),
        (beta.pk, Metric.OVERALL, "without_mirrors", D(2025, 1, 1), 1000),
        (beta.pk, Metric.OVERALL, "without_mirrors", D(2025, 3, 1), 3000),
    ]


def test_read_of_one_package_never_returns_another_packages_points(two_packages: Stored) -> None:
    alpha, beta, _, _, _ = two_packages
    windowed = list(points.read(package_ids=[beta.pk], start=D(2025, 1, 2), end=D(2025, 3, 1)))
    assert windowed == [(beta.pk, Metric.OVERALL, "without_mirrors", D(2025, 3, 1), 3000)]
    by_metric = list(points.read(package_ids=[beta.pk], metrics=[Metric.OVERALL]))
    assert [r[4] for r in by_metric] == [1000, 3000]
    by_name = list(points.read(package_ids=[beta.pk], category="without_mirrors"))
    assert [r[4] for r in by_name] == [1000, 3000]


def test_read_by_category_name_keeps_the_other_filters(two_packages: Stored) -> None:
    alpha, _, _, _, _ = two_packages
    rows = list(
        points.read(
            package_ids=[alpha.pk],
            metrics=[Metric.SYSTEM],
            category="null",
            start=D(2025, 1, 2),
            end=D(2025, 1, 31),
        )
    )
    assert rows == [(alpha.pk, Metric.SYSTEM, "null", D(2025, 1, 2), 5)]


@pytest.mark.parametrize(
    ("start", "end", "outside", "dates"),
    [
        (D(2025, 1, 2), D(2025, 3, 31), [D(2024, 12, 1), D(2025, 4, 1)], [2, 3, 31 + 28 + 1]),
        (D(2025, 1, 1), None, [D(2024, 12, 1)], [1, 2, 3, 31 + 28 + 1]),
        (None, D(2025, 3, 1), [D(2025, 4, 1)], [1, 2, 3, 31 + 28 + 1]),
    ],
)
def test_a_windowed_read_fetches_only_the_months_of_the_window(
    two_packages: Stored,
    start: dt.date | None,
    end: dt.date | None,
    outside: list[dt.date],
    dates: list[int],
) -> None:
    """The month filter is done in SQL (an index range), not by decoding every month held.

    The months just outside the window hold a blob that cannot be decoded: fetching one
    would raise. `dates` are days of 2025 (1 = 1 January).
    """
    alpha, _, without, _, _ = two_packages
    for month in outside:
        DownloadMonth.objects.create(
            package=alpha, category=without, month=month, held=1, days=b"not a month"
        )
    rows = points.read(package_ids=[alpha.pk], metrics=[Metric.OVERALL], start=start, end=end)
    assert [r[3] for r in rows] == [D(2024, 12, 31) + dt.timedelta(days=n) for n in dates]


def test_by_package_takes_one_metric_one_category_and_the_window(two_packages: Stored) -> None:
    alpha, beta, _, _, _ = two_packages
    assert points.by_package(
        package_ids=[alpha.pk, beta.pk], metric=Metric.SYSTEM, category="null"
    ) == {alpha.pk: {D(2025, 1, 2): 5}, beta.pk: {}}
    assert points.by_package(
        package_ids=[alpha.pk, beta.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        start=D(2025, 1, 3),
        end=D(2025, 3, 1),
    ) == {alpha.pk: {D(2025, 1, 3): 12, D(2025, 3, 1): 30}, beta.pk: {D(2025, 3, 1): 3000}}


def test_package_series_groups_by_metric_and_category_within_the_dates(
    two_packages: Stored,
) -> None:
    alpha, _, _, _, _ = two_packages
    series = points.package_series(
        package_id=alpha.pk,
        metrics=[Metric.OVERALL, Metric.SYSTEM, Metric.PYTHON_MINOR],
        start=D(2025, 1, 2),
        end=D(2025, 1, 31),
    )
    assert series == {
        Metric.OVERALL: {"without_mirrors": {D(2025, 1, 2): 11, D(2025, 1, 3): 12}},
        Metric.SYSTEM: {"null": {D(2025, 1, 2): 5}},
        Metric.PYTHON_MINOR: {},
    }


def test_total_without_mirrors_sums_every_day_held_of_that_category_only(
    two_packages: Stored,
) -> None:
    alpha, beta, _, _, _ = two_packages
    assert points.total_without_mirrors(alpha.pk) == 10 + 11 + 12 + 30
    assert points.total_without_mirrors(beta.pk) == 1000 + 3000


def test_emptying_one_categorys_month_leaves_the_other_categories_of_that_month(
    two_packages: Stored,
) -> None:
    alpha, _, without, system_null, major_null = two_packages
    points.save(alpha.pk, {(system_null.pk, D(2025, 1, 1)): points.empty_month(D(2025, 1, 1))})
    assert held(alpha) == {
        (without.pk, D(2025, 1, 1), 10),
        (without.pk, D(2025, 1, 2), 11),
        (without.pk, D(2025, 1, 3), 12),
        (without.pk, D(2025, 3, 1), 30),
        (major_null.pk, D(2025, 1, 2), 700),
    }


def test_a_large_save_is_sent_in_bounded_statements() -> None:
    """1001 months: on PostgreSQL one INSERT whatever the count (five arrays through
    unnest), elsewhere INSERTs of at most 1000 rows (1000 + 1)."""
    package = Package.objects.create(name="long-history")
    without = category(Metric.OVERALL, "without_mirrors")
    months = [D(1900 + i // 12, i % 12 + 1, 1) for i in range(1001)]
    with CaptureQueriesContext(connection) as queries:
        points.save(
            package.pk, {(without.pk, month): [7] * points.month_length(month) for month in months}
        )
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == (1 if connection.vendor == "postgresql" else 2)
    assert DownloadMonth.objects.filter(package=package).count() == 1001


def test_an_upsert_writes_only_the_months_holding_a_new_or_changed_day() -> None:
    """Unchanged months are not rewritten: the INSERT names the changed month alone.

    (Rewriting every loaded month would leave the same bytes behind; the statement is
    where the difference shows.)
    """
    package = Package.objects.create(name="sparse-writes")
    without = category(Metric.OVERALL, "without_mirrors")
    points.put(package.pk, [(without.pk, D(2025, m, 10), m) for m in (4, 5, 6)])
    incoming = {(without.pk, D(2025, m, 10)): m for m in (4, 5, 6)}
    incoming[(without.pk, D(2025, 5, 11))] = 99
    with CaptureQueriesContext(connection) as queries:
        result = points.upsert(package.pk, incoming)
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 3)
    writes = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")]
    assert len(writes) == 1 and writes[0].startswith("INSERT")
    assert "2025-05-01" in writes[0]
    assert "2025-04-01" not in writes[0] and "2025-06-01" not in writes[0]
    assert DownloadMonth.objects.get(package=package, month=D(2025, 5, 1)).held == 2

    with CaptureQueriesContext(connection) as queries:
        again = points.upsert(package.pk, incoming)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)
    assert [q["sql"] for q in queries.captured_queries if not q["sql"].startswith("SELECT")] == []


def test_kept_zeros_count_as_unchanged_and_the_rest_of_the_batch_still_lands() -> None:
    package = Package.objects.create(name="outage-day")
    without = category(Metric.OVERALL, "without_mirrors")
    points.put(
        package.pk,
        [(without.pk, D(2025, 5, d), v) for d, v in ((1, 50), (2, 60), (3, 70), (5, 80))],
    )
    incoming = {
        (without.pk, D(2025, 5, 1)): 0,  # a zero over 50: kept
        (without.pk, D(2025, 5, 2)): 0,  # a zero over 60: kept
        (without.pk, D(2025, 5, 3)): 71,  # a correction
        (without.pk, D(2025, 5, 4)): 5,  # a new day
        (without.pk, D(2025, 5, 5)): 81,  # another correction
    }
    result = points.upsert(package.pk, incoming, keep_over_zero=True)
    assert result == points.Upserted(
        inserted=1,
        updated=2,
        unchanged=2,
        kept_over_zero=[(without.pk, D(2025, 5, 1), 50), (without.pk, D(2025, 5, 2), 60)],
    )
    assert held(package) == {
        (without.pk, D(2025, 5, 1), 50),
        (without.pk, D(2025, 5, 2), 60),
        (without.pk, D(2025, 5, 3), 71),
        (without.pk, D(2025, 5, 4), 5),
        (without.pk, D(2025, 5, 5), 81),
    }


def test_an_upsert_reads_only_the_months_it_writes_into() -> None:
    """The months around the incoming dates hold undecodable blobs: loading one would raise."""
    package = Package.objects.create(name="narrow-load")
    without = category(Metric.OVERALL, "without_mirrors")
    for month in (D(2025, 4, 1), D(2025, 7, 1)):
        DownloadMonth.objects.create(
            package=package, category=without, month=month, held=1, days=b"not a month"
        )
    result = points.upsert(
        package.pk, {(without.pk, D(2025, 5, 31)): 3, (without.pk, D(2025, 6, 1)): 4}
    )
    assert (result.inserted, result.updated, result.unchanged) == (2, 0, 0)
    assert points.by_package(
        package_ids=[package.pk],
        metric=Metric.OVERALL,
        category="without_mirrors",
        start=D(2025, 5, 1),
        end=D(2025, 6, 30),
    ) == {package.pk: {D(2025, 5, 31): 3, D(2025, 6, 1): 4}}


def test_by_package_reads_the_named_category_not_its_neighbours() -> None:
    package = Package.objects.create(name="neighbours")
    # with_mirrors gets the higher id: read in id order, its value would come last and win.
    without = category(Metric.OVERALL, "without_mirrors")
    with_m = category(Metric.OVERALL, "with_mirrors")
    assert with_m.pk > without.pk
    points.put(package.pk, [(with_m.pk, D(2025, 5, 1), 9), (without.pk, D(2025, 5, 1), 4)])
    assert points.by_package(
        package_ids=[package.pk], metric=Metric.OVERALL, category="without_mirrors"
    ) == {package.pk: {D(2025, 5, 1): 4}}


def test_emptying_several_months_at_once_removes_each_of_them() -> None:
    package = Package.objects.create(name="emptied-twice")
    other = Package.objects.create(name="not-emptied")
    without = category(Metric.OVERALL, "without_mirrors")
    points.put(package.pk, [(without.pk, D(2025, m, 1), m) for m in (5, 6, 7)])
    points.put(other.pk, [(without.pk, D(2025, 5, 1), 55)])
    points.save(
        package.pk,
        {(without.pk, D(2025, m, 1)): points.empty_month(D(2025, m, 1)) for m in (5, 6)},
    )
    assert held(package) == {(without.pk, D(2025, 7, 1), 7)}
    assert held(other) == {(without.pk, D(2025, 5, 1), 55)}  # another package's month stays


def test_total_without_mirrors_leaves_with_mirrors_out() -> None:
    package = Package.objects.create(name="mirrored")
    without = category(Metric.OVERALL, "without_mirrors")
    with_m = category(Metric.OVERALL, "with_mirrors")
    points.put(package.pk, [(without.pk, D(2025, 5, 1), 4), (with_m.pk, D(2025, 5, 1), 9)])
    points.put(package.pk, [(without.pk, D(2025, 5, 2), 6), (with_m.pk, D(2025, 5, 2), 10)])
    assert points.total_without_mirrors(package.pk) == 4 + 6

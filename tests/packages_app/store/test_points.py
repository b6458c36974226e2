"""The month-per-row point store (packages_app.store.points) and its migration from one row per point."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from packages_app.models import Category, DownloadMonth, Metric, Package
from packages_app.store import points
from tests.stored_points import held

D = dt.date


def category(metric: Metric, name: str) -> Category:
    return Category.objects.get_or_create(metric=metric, name=name)[0]


# --- packing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "days"),
    [(D(2024, 2, 1), 29), (D(2025, 2, 1), 28), (D(2025, 4, 1), 30), (D(2025, 12, 1), 31)],
)
def test_a_month_packs_8_bytes_per_day_of_the_month(month: dt.date, days: int) -> None:
    values = points.empty_month(month)
    assert len(values) == days
    values[0], values[-1] = 0, 3_000_000_000  # over 2**31: __all__'s daily totals are
    blob = points.encode(values)
    assert len(blob) == 8 * days
    assert points.decode(blob) == values
    assert points.decode(memoryview(blob)) == values  # what psycopg hands back for bytea
    # Big-endian, as PostgreSQL's int8send writes it.
    assert blob[-8:] == (3_000_000_000).to_bytes(8, "big")


@pytest.mark.parametrize("size", [0, 8 * 27, 8 * 32, 8 * 30 + 3])
def test_a_blob_that_is_not_a_month_is_refused(size: int) -> None:
    with pytest.raises(ValueError, match="28 to 31"):
        points.decode(b"\0" * size)


def test_month_points_cuts_the_window_and_skips_missing_days() -> None:
    month = D(2025, 3, 1)
    values = points.empty_month(month)
    for day in (1, 2, 15, 31):
        values[day - 1] = day * 10
    blob = points.encode(values)
    assert list(points.month_points(month, blob)) == [
        (D(2025, 3, 1), 10),
        (D(2025, 3, 2), 20),
        (D(2025, 3, 15), 150),
        (D(2025, 3, 31), 310),
    ]
    assert list(points.month_points(month, blob, D(2025, 3, 2), D(2025, 3, 15))) == [
        (D(2025, 3, 2), 20),
        (D(2025, 3, 15), 150),
    ]
    # Windows that start before or end after the month take all of it on that side.
    assert len(list(points.month_points(month, blob, D(2025, 1, 1), D(2025, 9, 1)))) == 4
    assert list(points.month_points(month, blob, D(2025, 4, 1))) == []
    assert list(points.month_points(month, blob, None, D(2025, 2, 28))) == []


# --- store and read ---------------------------------------------------------------------


@pytest.mark.django_db
def test_points_round_trip_across_months_in_category_then_date_order() -> None:
    package = Package.objects.create(name="roundtrip")
    with_m = category(Metric.OVERALL, "with_mirrors")
    minor = category(Metric.PYTHON_MINOR, "3.12")
    days = [D(2024, 1, 30) + dt.timedelta(days=i) for i in range(40)]  # Jan, Feb (leap), Mar
    points.put(package.pk, [(minor.pk, d, i) for i, d in enumerate(days)])
    points.put(package.pk, [(with_m.pk, d, 1000 + i) for i, d in enumerate(days)])
    assert DownloadMonth.objects.filter(package=package).count() == 6
    assert points.count(package.pk) == 80

    rows = list(points.read(package_ids=[package.pk]))
    assert [r[2] for r in rows] == ["with_mirrors"] * 40 + ["3.12"] * 40  # category id order
    assert rows[0] == (package.pk, Metric.OVERALL, "with_mirrors", D(2024, 1, 30), 1000)
    assert [r[3] for r in rows[:40]] == days

    window = list(
        points.read(
            package_ids=[package.pk],
            metrics=[Metric.PYTHON_MINOR],
            start=D(2024, 2, 28),
            end=D(2024, 3, 1),
        )
    )
    assert [(r[3], r[4]) for r in window] == [
        (D(2024, 2, 28), 29),
        (D(2024, 2, 29), 30),
        (D(2024, 3, 1), 31),
    ]
    assert points.by_package(
        package_ids=[package.pk], metric=Metric.OVERALL, category="with_mirrors", end=D(2024, 1, 31)
    ) == {package.pk: {D(2024, 1, 30): 1000, D(2024, 1, 31): 1001}}


@pytest.mark.django_db
def test_put_overwrites_days_and_keeps_the_rest_of_the_month() -> None:
    package = Package.objects.create(name="overwrite")
    cat = category(Metric.OVERALL, "without_mirrors")
    points.put(package.pk, [(cat.pk, D(2025, 5, d), d) for d in range(1, 11)])
    points.put(package.pk, [(cat.pk, D(2025, 5, 3), 0), (cat.pk, D(2025, 5, 20), 7)])
    assert held(package) == {
        *((cat.pk, D(2025, 5, d), d) for d in range(1, 11) if d != 3),
        (cat.pk, D(2025, 5, 3), 0),
        (cat.pk, D(2025, 5, 20), 7),
    }
    assert DownloadMonth.objects.get(package=package).held == 11


@pytest.mark.django_db
def test_a_negative_value_is_refused_before_anything_is_written() -> None:
    package = Package.objects.create(name="negative")
    cat = category(Metric.OVERALL, "without_mirrors")
    with pytest.raises(ValueError, match="negative"):
        points.put(package.pk, [(cat.pk, D(2025, 5, 1), 5), (cat.pk, D(2025, 5, 2), -3)])
    assert not DownloadMonth.objects.filter(package=package).exists()


@pytest.mark.django_db
def test_a_month_left_without_days_is_removed() -> None:
    package = Package.objects.create(name="emptied")
    cat = category(Metric.OVERALL, "without_mirrors")
    points.put(package.pk, [(cat.pk, D(2025, 5, 1), 5), (cat.pk, D(2025, 6, 1), 6)])
    months = points.load(package.pk, D(2025, 5, 1), D(2025, 5, 1))
    months[(cat.pk, D(2025, 5, 1))][0] = points.MISSING
    points.save(package.pk, months)
    assert list(DownloadMonth.objects.filter(package=package).values_list("month", flat=True)) == [
        D(2025, 6, 1)
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_reads_are_covered_by_the_primary_key_on_postgres() -> None:
    """The reads pages and the API make can be answered from the index alone."""
    package = Package.objects.create(name="covered")
    cat = category(Metric.OVERALL, "without_mirrors")
    points.put(package.pk, [(cat.pk, D(2025, 5, 1), 5)])
    query = DownloadMonth.objects.filter(
        package_id=package.pk, category_id=cat.pk, month__gte=D(2025, 1, 1)
    ).values_list("month", "days")
    with connection.cursor() as cursor:
        # A tiny table would be read sequentially; forbid that to see what the index covers.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = query.explain()
    assert "Index Only Scan using packages_app_downloadmonth_pkey" in plan


# --- the migration from one row per point ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_moves_every_point_into_months_and_back() -> None:
    before = [("packages_app", "0002_covering_primary_key")]
    after = [("packages_app", "0003_download_months")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    package = old.get_model("packages_app", "Package").objects.create(name="migrated")
    cat_model = old.get_model("packages_app", "Category")
    without = cat_model.objects.get_or_create(metric=1, name="without_mirrors")[0]
    minor = cat_model.objects.get_or_create(metric=3, name="3.13")[0]
    point = old.get_model("packages_app", "DownloadPoint")
    days = [D(2024, 2, 27) + dt.timedelta(days=i) for i in range(10) if i != 4]  # a gap
    rows = [(without.pk, d, 3_000_000_000 + i) for i, d in enumerate(days)]
    rows += [(minor.pk, D(2023, 12, 31), 0)]
    point.objects.bulk_create(
        point(package_id=package.pk, category_id=c, date=d, downloads=n) for c, d, n in rows
    )

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    migrated = {
        (c, d, n)
        for c, month, blob in DownloadMonth.objects.filter(package_id=package.pk).values_list(
            "category_id", "month", "days"
        )
        for d, n in points.month_points(month, blob)
    }
    assert migrated == set(rows)
    assert dict(
        DownloadMonth.objects.filter(package_id=package.pk).values_list("month", "held")
    ) == {D(2023, 12, 1): 1, D(2024, 2, 1): 3, D(2024, 3, 1): 6}

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    back = old.get_model("packages_app", "DownloadPoint").objects.values_list(
        "category_id", "date", "downloads"
    )
    assert set(back) == set(rows)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

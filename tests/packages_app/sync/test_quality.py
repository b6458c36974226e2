"""Data-quality markers: the dated table, suspect-day detection, caching and the charts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django import DjangoAssertNumQueries, Settings

from packages_app.pages.options import parse_options
from packages_app.pages.package import chart_payload
from packages_app.sync import quality
from tests.watchlists.notify.helpers import make_package, weekday_pattern

D = dt.date


def test_known_events_table_holds_the_documented_incidents() -> None:
    spans = {(m.start, m.end) for m in quality.KNOWN_EVENTS}
    for expected in [
        (D(2018, 7, 26), D(2018, 7, 26)),
        (D(2020, 4, 8), D(2020, 4, 8)),
        (D(2020, 7, 18), D(2020, 7, 18)),
        (D(2020, 7, 19), D(2020, 8, 2)),
        (D(2024, 6, 1), D(2024, 6, 30)),
        (D(2025, 8, 2), D(2025, 8, 22)),
        (D(2026, 8, 24), D(2026, 8, 24)),
    ]:
        assert expected in spans
    starts = [m.start for m in quality.KNOWN_EVENTS]
    assert starts == sorted(starts)
    assert [m.label for m in quality.known_between(D(2026, 8, 20), D(2026, 8, 30))] == [
        quality.KNOWN_EVENTS[-1].label
    ]
    assert quality.known_between(D(2023, 1, 1), D(2023, 12, 31)) == []


@pytest.mark.django_db
def test_a_zero_day_of_all_pypi_is_suspect() -> None:
    outage = D(2026, 10, 14)
    make_package("__all__", D(2026, 8, 1), D(2026, 10, 31), lambda d: 0 if d == outage else 10**9)
    markers = quality.detected_between(D(2026, 10, 1), D(2026, 10, 31))
    assert [(m.start, m.end, m.kind) for m in markers] == [(outage, outage, "suspect")]


@pytest.mark.django_db
def test_most_packages_far_below_their_weekday_baseline_is_suspect() -> None:
    dip = {D(2026, 10, 10), D(2026, 10, 11)}  # a weekend: the baseline is weekend-sized

    def dipping(base: int) -> Callable[[dt.date], int]:
        pattern = weekday_pattern(base)
        return lambda d: pattern(d) // 5 if d in dip else pattern(d)

    for i in range(3):
        make_package(f"dips-{i}", D(2026, 8, 1), D(2026, 10, 31), dipping(1000 * (i + 1)))
    make_package("steady", D(2026, 8, 1), D(2026, 10, 31), weekday_pattern(5000))
    markers = quality.detected_between(D(2026, 10, 1), D(2026, 10, 31))
    # 3 of 4 packages far below on both days: one merged run.
    assert [(m.start, m.end) for m in markers] == [(D(2026, 10, 10), D(2026, 10, 11))]


@pytest.mark.django_db
def test_one_package_dipping_or_the_weekend_drop_is_not_suspect() -> None:
    make_package(
        "alone", D(2026, 8, 1), D(2026, 10, 31), lambda d: 1 if d == D(2026, 10, 7) else 900
    )
    make_package("steady-a", D(2026, 8, 1), D(2026, 10, 31), weekday_pattern(4000))
    make_package("steady-b", D(2026, 8, 1), D(2026, 10, 31), weekday_pattern(8000))
    # A tiny package dropping to zero cannot vote (its baseline is too small to judge).
    make_package("tiny", D(2026, 8, 1), D(2026, 10, 31), lambda d: 0 if d.day % 3 else 5)
    assert quality.detected_between(D(2026, 10, 1), D(2026, 10, 31)) == []


@pytest.mark.django_db
def test_detection_is_bounded_in_queries_and_cached_by_data_version(
    django_assert_max_num_queries: DjangoAssertNumQueries,
    django_assert_num_queries: DjangoAssertNumQueries,
) -> None:
    for i in range(12):
        make_package(f"pkg-{i}", D(2026, 6, 1), D(2026, 10, 31), weekday_pattern(100 * (i + 1)))
    with django_assert_max_num_queries(3):  # data version, packages, points
        first = quality.detected_between(D(2026, 7, 1), D(2026, 10, 31))
    with django_assert_num_queries(1):  # only the data-version key
        assert quality.detected_between(D(2026, 7, 1), D(2026, 10, 31)) == first
    # New data (a refresh bumps data_version) is seen at once.
    make_package(
        "__all__", D(2026, 6, 1), D(2026, 10, 31), lambda d: 0 if d == D(2026, 9, 9) else 10**8
    )
    assert [m.start for m in quality.detected_between(D(2026, 7, 1), D(2026, 10, 31))] == [
        D(2026, 9, 9)
    ]


@pytest.mark.django_db
def test_a_window_of_many_years_costs_the_queries_of_one(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    """Cold, the years a window lacks are detected in one pass: a chart over six years
    costs the same queries as one over a month (pages assert constant query counts)."""
    make_package("pkg-long", D(2021, 1, 1), D(2026, 10, 31), weekday_pattern(500))
    with django_assert_max_num_queries(3):  # data version, packages, points
        many = quality.detected_between(D(2021, 1, 1), D(2026, 10, 31))
    with django_assert_max_num_queries(1):  # every year is cached now: the data version only
        assert quality.detected_between(D(2021, 1, 1), D(2026, 10, 31)) == many
    with django_assert_max_num_queries(1):
        quality.detected_between(D(2023, 3, 1), D(2023, 3, 31))


@pytest.mark.django_db
def test_markers_between_is_json_safe_and_skips_detections_inside_known_events() -> None:
    # __all__ falls to zero on the known 2026-08-24 event day and on an unknown day.
    make_package(
        "__all__",
        D(2026, 6, 1),
        D(2026, 9, 30),
        lambda d: 0 if d in (D(2026, 8, 24), D(2026, 9, 15)) else 10**9,
    )
    markers = quality.markers_between(D(2026, 8, 1), D(2026, 9, 30))
    assert markers == [
        {
            "start": "2026-08-24",
            "end": "2026-08-24",
            "kind": "change",
            "label": quality.KNOWN_EVENTS[-1].label,
            "url": quality.KNOWN_EVENTS[-1].url,
        },
        {
            "start": "2026-09-15",
            "end": "2026-09-15",
            "kind": "suspect",
            "label": markers[1]["label"],
            "url": "",
        },
    ]
    assert quality.marked_days(D(2026, 8, 20), D(2026, 8, 31)) == {D(2026, 8, 24)}


@pytest.mark.django_db
def test_chart_payload_and_package_page_carry_the_markers(settings: Settings) -> None:
    package = make_package("markedpkg", D(2026, 7, 1), D(2026, 9, 30), weekday_pattern(1000))
    options = parse_options({"start": "2026-08-01", "end": "2026-09-30"})
    payload = chart_payload(package, options)
    assert payload is not None
    assert [m["start"] for m in payload["markers"]] == ["2026-08-24"]
    # The cached payload gets the markers too (they are not part of its cache).
    again = chart_payload(package, options)
    assert again is not None and again["markers"] == payload["markers"]
    outside = chart_payload(package, parse_options({"start": "2026-09-01", "end": "2026-09-30"}))
    assert outside is not None and outside["markers"] == []

    page = Client().get("/packages/markedpkg/?start=2026-08-01&end=2026-09-30")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vendor/chartjs-plugin-annotation.min.js" in html
    assert "PyPI counts only real artifacts" in html  # the no-JS list under the range note
    assert '"markers"' in html  # in the json_script payload the charts draw from


@pytest.mark.django_db
def test_a_run_across_new_year_is_one_marker_and_years_are_cached_separately(
    django_assert_max_num_queries: DjangoAssertNumQueries,
) -> None:
    bad = {D(2025, 12, 31), D(2026, 1, 1)}
    make_package("__all__", D(2025, 9, 1), D(2026, 2, 28), lambda d: 0 if d in bad else 10**9)
    with django_assert_max_num_queries(5):  # version + 2 per year
        markers = quality.detected_between(D(2025, 12, 1), D(2026, 1, 31))
    assert [(m.start, m.end) for m in markers] == [(D(2025, 12, 31), D(2026, 1, 1))]
    with django_assert_max_num_queries(1):  # both years cached: only the version
        assert quality.detected_between(D(2025, 10, 1), D(2026, 2, 1)) == markers

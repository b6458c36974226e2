from __future__ import annotations

import datetime as dt

import pytest
from django.http import QueryDict

from packages_app.pages.options import (
    COMPARE_DEFAULTS,
    PACKAGE_DEFAULTS,
    OptionDefaults,
    OptionsError,
    parse_options,
)

D = dt.date


def q(s: str) -> QueryDict:
    return QueryDict(s)


def test_defaults_for_the_package_page() -> None:
    options = parse_options(q(""))
    assert (options.range, options.agg, options.smooth, options.scale) == (
        "180",
        "day",
        False,
        "linear",
    )
    assert options.querystring() == ""
    assert options.cache_key == "-"


def test_compare_defaults_are_weekly_over_a_year() -> None:
    options = parse_options(q(""), COMPARE_DEFAULTS)
    assert (options.range, options.agg) == ("365", "week")
    # A value that is the package default is not the compare default: it is kept.
    assert parse_options(q("agg=day"), COMPARE_DEFAULTS).querystring() == "?agg=day"


@pytest.mark.parametrize("range_", ["30", "90", "180", "365", "730", "1825", "all"])
@pytest.mark.parametrize("agg", ["day", "week", "month"])
@pytest.mark.parametrize("smooth", ["", "7"])
@pytest.mark.parametrize("scale", ["linear", "log"])
def test_every_valid_combination_round_trips(
    range_: str, agg: str, smooth: str, scale: str
) -> None:
    options = parse_options(q(f"range={range_}&agg={agg}&smooth={smooth}&scale={scale}"))
    again = parse_options(QueryDict(options.querystring().lstrip("?")))
    assert again == options


def test_canonical_order_and_defaults_left_out() -> None:
    options = parse_options(q("scale=log&smooth=7&agg=week&range=90"))
    assert options.querystring() == "?range=90&agg=week&smooth=7&scale=log"
    assert parse_options(q("range=180&agg=day&scale=linear")).querystring() == ""


def test_extra_pairs_come_first() -> None:
    options = parse_options(q("range=90"), COMPARE_DEFAULTS)
    assert options.querystring([("packages", "a,b")]) == "?packages=a%2Cb&range=90"


def test_overrides_build_control_links() -> None:
    options = parse_options(q("start=2024-01-01&end=2024-02-01&agg=week"))
    # Choosing a preset range drops the custom dates.
    assert options.querystring(range="30") == "?range=30&agg=week"
    assert options.querystring(scale="log") == "?start=2024-01-01&end=2024-02-01&agg=week&scale=log"
    assert parse_options(q("smooth=7")).querystring(smooth=False) == ""


def test_start_and_end_override_range() -> None:
    options = parse_options(q("range=30&start=2024-01-10&end=2024-01-20"))
    assert options.custom_dates
    assert options.querystring() == "?start=2024-01-10&end=2024-01-20"
    window = options.window(D(2023, 1, 1), D(2024, 6, 1))
    assert window is not None
    assert (window.start, window.end, window.days) == (D(2024, 1, 10), D(2024, 1, 20), 11)


def test_only_start_runs_to_the_latest_held() -> None:
    window = parse_options(q("start=2024-05-01")).window(D(2023, 1, 1), D(2024, 6, 1))
    assert window is not None and (window.start, window.end) == (D(2024, 5, 1), D(2024, 6, 1))


def test_range_counts_back_from_latest_held_and_clips_to_first() -> None:
    options = parse_options(q("range=30"))
    window = options.window(D(2024, 1, 1), D(2024, 3, 31))
    assert window is not None
    assert (window.start, window.end, window.days, window.clipped) == (
        D(2024, 3, 2),
        D(2024, 3, 31),
        30,
        False,
    )
    short = options.window(D(2024, 3, 20), D(2024, 3, 31))
    assert short is not None and short.start == D(2024, 3, 20) and short.clipped
    assert short.requested_start == D(2024, 3, 2)


def test_range_all_is_everything_held() -> None:
    window = parse_options(q("range=all")).window(D(2022, 5, 5), D(2024, 3, 31))
    assert window is not None and (window.start, window.end) == (D(2022, 5, 5), D(2024, 3, 31))


def test_no_window_without_data_or_outside_it() -> None:
    assert parse_options(q("")).window(None, None) is None
    outside = parse_options(q("start=2020-01-01&end=2020-02-01"))
    assert outside.window(D(2024, 1, 1), D(2024, 3, 1)) is None


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("range=7", "range"),
        ("range=ALL", "range"),
        ("agg=year", "agg"),
        ("smooth=3", "smooth"),
        ("scale=sqrt", "scale"),
        ("start=2024-13-01", "start"),
        ("start=20240101", "start"),
        ("end=yesterday", "end"),
        ("start=1999-01-01", "start"),
        ("end=2300-01-01", "end"),
        ("start=2024-02-02&end=2024-02-01", "start"),
    ],
)
def test_invalid_values_are_reported_by_name(query: str, bad: str) -> None:
    with pytest.raises(OptionsError) as info:
        parse_options(q(query))
    assert list(info.value.errors) == [bad]
    assert info.value.messages[0].startswith(f"{bad}: ")


def test_all_problems_are_listed_at_once() -> None:
    with pytest.raises(OptionsError) as info:
        parse_options(q("range=2&agg=x&scale=y"))
    assert set(info.value.errors) == {"range", "agg", "scale"}


def test_empty_values_count_as_absent() -> None:
    assert parse_options(q("start=&end=&range=&agg=")) == parse_options(q(""))


def test_smooth_only_applies_to_daily() -> None:
    assert parse_options(q("smooth=7")).smoothing_applies
    assert not parse_options(q("smooth=7&agg=week")).smoothing_applies


def test_plain_mappings_work_and_defaults_validate() -> None:
    assert parse_options({"range": "90"}).range == "90"
    with pytest.raises(ValueError):
        OptionDefaults(range="7")
    assert PACKAGE_DEFAULTS.range == "180"


@pytest.mark.parametrize(
    ("query", "agg", "canonical"),
    [
        # Past a year the presets are weekly: 2 years, 5 years and All.
        ("range=730", "week", "?range=730"),
        ("range=1825", "week", "?range=1825"),
        ("range=all", "week", "?range=all"),
        # An explicit daily view of a long range is kept, and so is its link.
        ("range=all&agg=day", "day", "?range=all&agg=day"),
        ("range=all&agg=week", "week", "?range=all"),
        # Dates choose no preset: the page's own default.
        ("range=all&start=2020-01-01", "day", "?start=2020-01-01"),
    ],
)
def test_long_ranges_default_to_weekly(query: str, agg: str, canonical: str) -> None:
    options = parse_options(q(query))
    assert options.agg == agg
    assert options.querystring() == canonical


def test_a_preset_takes_the_default_aggregation_along_unless_one_was_chosen() -> None:
    # 1 year daily -> All: weekly, with no agg in the link; All -> 30 days: daily again.
    year = parse_options(q("range=365"))
    assert year.querystring(range="all") == "?range=all"
    everything = parse_options(q("range=all"))
    assert everything.querystring(range="30") == "?range=30"
    assert parse_options(q("range=30")).agg == "day"
    # A chosen aggregation stays chosen across presets.
    monthly = parse_options(q("range=365&agg=month"))
    assert monthly.querystring(range="all") == "?range=all&agg=month"
    daily_all = parse_options(q("range=all&agg=day"))
    assert daily_all.querystring(range="90") == "?range=90"
    assert daily_all.querystring(range="1825") == "?range=1825&agg=day"
    # The Daily control of a weekly long range says agg=day, not nothing.
    assert everything.querystring(agg="day") == "?range=all&agg=day"


def test_compare_long_ranges_stay_weekly() -> None:
    assert parse_options(q("range=all"), COMPARE_DEFAULTS).agg == "week"
    assert parse_options(q("range=730"), COMPARE_DEFAULTS).querystring() == "?range=730"

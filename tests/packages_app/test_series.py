from __future__ import annotations

import datetime as dt

import pytest

from packages_app import series as s

D = dt.date


def test_zero_fill_inside_the_window_only() -> None:
    data = {D(2024, 1, 1): 5, D(2024, 1, 3): 7, D(2023, 12, 31): 100, D(2024, 1, 9): 100}
    assert s.zero_fill(data, D(2024, 1, 1), D(2024, 1, 4)) == [5, 0, 7, 0]
    assert s.zero_fill({}, D(2024, 1, 1), D(2024, 1, 2)) == [0, 0]
    assert s.zero_fill(data, D(2024, 1, 2), D(2024, 1, 1)) == []


def test_week_and_month_boundaries() -> None:
    assert s.period_start(D(2024, 1, 3), "week") == D(2024, 1, 1)  # a Wednesday -> Monday
    assert s.period_start(D(2024, 1, 7), "week") == D(2024, 1, 1)  # Sunday ends the ISO week
    assert s.period_end(D(2024, 2, 1), "month") == D(2024, 2, 29)  # leap year
    assert s.period_end(D(2023, 2, 1), "month") == D(2023, 2, 28)
    assert s.period_end(D(2024, 12, 1), "month") == D(2024, 12, 31)
    with pytest.raises(ValueError):
        s.period_start(D(2024, 1, 1), "year")


def test_a_window_starting_mid_week_drops_the_leading_partial_and_marks_the_last() -> None:
    data = dict.fromkeys(s.days(D(2024, 1, 1), D(2024, 1, 31)), 1)
    # Wed 3 Jan .. Wed 24 Jan
    periods, values = s.aggregate(data, D(2024, 1, 3), D(2024, 1, 24), "week")
    assert [p.start for p in periods] == [D(2024, 1, 8), D(2024, 1, 15), D(2024, 1, 22)]
    assert [p.partial for p in periods] == [False, False, True]
    # The partial week only counts the days inside the window.
    assert values == [7, 7, 3]


def test_partial_modes() -> None:
    data = dict.fromkeys(s.days(D(2024, 1, 1), D(2024, 1, 31)), 1)
    drop, drop_values = s.aggregate(data, D(2024, 1, 3), D(2024, 1, 24), "week", "drop")
    assert [p.start for p in drop] == [D(2024, 1, 8), D(2024, 1, 15)] and drop_values == [7, 7]
    mark, mark_values = s.aggregate(data, D(2024, 1, 3), D(2024, 1, 24), "week", "mark")
    assert [p.partial for p in mark] == [True, False, False, True]
    assert mark_values == [5, 7, 7, 3]


def test_monthly_over_a_leap_february() -> None:
    data = dict.fromkeys(s.days(D(2024, 1, 15), D(2024, 4, 10)), 2)
    periods, values = s.aggregate(data, D(2024, 1, 15), D(2024, 4, 10), "month")
    assert [(p.start, p.end, p.partial) for p in periods] == [
        (D(2024, 2, 1), D(2024, 2, 29), False),
        (D(2024, 3, 1), D(2024, 3, 31), False),
        (D(2024, 4, 1), D(2024, 4, 30), True),
    ]
    assert values == [58, 62, 20]


def test_daily_aggregation_is_the_zero_filled_series() -> None:
    periods, values = s.aggregate({D(2024, 1, 2): 4}, D(2024, 1, 1), D(2024, 1, 3), "day")
    assert values == [0, 4, 0] and not any(p.partial for p in periods)


def test_one_day_and_empty_windows() -> None:
    periods, values = s.aggregate({D(2024, 1, 3): 9}, D(2024, 1, 3), D(2024, 1, 3), "week")
    assert values == [9] and periods[0].partial  # the current week, marked
    assert s.aggregate({}, D(2024, 1, 3), D(2024, 1, 2), "day") == ([], [])
    assert s.aggregate({}, D(2024, 1, 3), D(2024, 1, 3), "week", "drop") == ([], [])


def test_trailing_average_uses_days_before_the_window_but_not_before_held() -> None:
    data = {day: 7 * (i + 1) for i, day in enumerate(s.days(D(2024, 1, 1), D(2024, 1, 14)))}
    avg = s.trailing_average(data, D(2024, 1, 7), D(2024, 1, 9), held_from=D(2024, 1, 1))
    assert avg == [28.0, 35.0, 42.0]
    # Held only from 5 Jan: the first two days of the window lack seven days behind them.
    avg = s.trailing_average(data, D(2024, 1, 7), D(2024, 1, 12), held_from=D(2024, 1, 5))
    assert avg[:4] == [None, None, None, None] and avg[4] == pytest.approx(56.0)
    assert s.trailing_average({}, D(2024, 1, 1), D(2024, 1, 2)) == [None, None]


def test_trailing_average_counts_missing_held_days_as_zero() -> None:
    data = {D(2024, 1, 1): 70}
    avg = s.trailing_average(data, D(2024, 1, 7), D(2024, 1, 8), held_from=D(2024, 1, 1))
    assert avg == [10.0, 0.0]


def test_shares() -> None:
    result = s.shares({"3.12": [30, 0, 1], "3.11": [10, 0, 3]})
    assert result == {"3.12": [75.0, None, 25.0], "3.11": [25.0, None, 75.0]}
    assert s.shares({}) == {}


def test_percent_change() -> None:
    assert s.percent_change(100, 150) == 50.0
    assert s.percent_change(0, 5) is None


def test_last_complete_week() -> None:
    assert s.last_complete_week(D(2024, 1, 14)) == (D(2024, 1, 8), D(2024, 1, 14))  # a Sunday
    assert s.last_complete_week(D(2024, 1, 17)) == (D(2024, 1, 8), D(2024, 1, 14))
    assert s.last_complete_week(D(2024, 1, 15)) == (D(2024, 1, 8), D(2024, 1, 14))


def test_summary() -> None:
    data = dict.fromkeys(s.days(D(2024, 1, 1), D(2024, 1, 17)), 10)
    for day in s.days(D(2024, 1, 8), D(2024, 1, 14)):
        data[day] = 20
    summ = s.summary(data, D(2024, 1, 1), D(2024, 1, 17))
    assert summ.last_day == 10 and summ.last_7_days == 20 * 4 + 30 and summ.last_30_days is None
    assert summ.total == 10 * 10 + 20 * 7 and summ.days == 17
    assert (summ.last_week, summ.previous_week, summ.week_over_week_pct) == (140, 70, 100.0)
    assert summ.growth_pct == pytest.approx(100 * (110 - 70) / 70)


def test_summary_of_a_short_or_empty_window() -> None:
    one = s.summary({D(2024, 1, 3): 5}, D(2024, 1, 3), D(2024, 1, 3))
    assert (one.last_day, one.last_7_days, one.total, one.growth_pct, one.week_over_week_pct) == (
        5,
        None,
        5,
        None,
        None,
    )
    empty = s.summary({}, D(2024, 1, 3), D(2024, 1, 2))
    assert empty.total == 0 and empty.last_day is None


def test_totals_by_category() -> None:
    assert s.totals_by_category([("a", 1), ("b", 2), ("a", 3)]) == {"a": 4, "b": 2}

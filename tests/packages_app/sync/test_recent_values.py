"""Which of upstream's recent values are real rows and which are its zero-fill (None).

Upstream zero-fills a period that has no row; a period has a row exactly when some
without_mirrors day falls in its window (1, 7 or 30 days back from the latest day of
the overall answer, that day excluded). Every expected tuple is worked out by hand.
"""

from __future__ import annotations

import datetime as dt

import pytest

from packages_app.sync import services
from packages_app.sync.upstream import RecentPayload, SeriesPayload

D = dt.date
LATEST = D(2026, 11, 30)


def overall(*rows: tuple[str, dt.date]) -> SeriesPayload:
    return SeriesPayload("overall", "pkg", [(category, date, 1) for category, date in rows])


def recent(day: int, week: int, month: int) -> RecentPayload:
    return RecentPayload("pkg", day, week, month)


@pytest.mark.parametrize(
    ("without_mirrors_days", "expected"),
    [
        # The day before the latest is outside the 1-day window (> latest - 1 day).
        ([D(2026, 11, 29)], (None, 0, 0)),
        ([D(2026, 11, 30)], (0, 0, 0)),
        # 7 days back is the week window's edge, excluded; 6 days back is inside.
        ([D(2026, 11, 23)], (None, None, 0)),
        ([D(2026, 11, 24)], (None, 0, 0)),
        # 30 days back is excluded from the month window; 29 days back is inside.
        ([D(2026, 10, 31)], (None, None, None)),
        ([D(2026, 11, 1)], (None, None, 0)),
        ([], (None, None, None)),
    ],
)
def test_a_zero_is_a_row_only_when_a_without_mirrors_day_falls_in_its_window(
    without_mirrors_days: list[dt.date], expected: tuple[int | None, ...]
) -> None:
    # The latest day comes from every overall row, with_mirrors included.
    rows = [("with_mirrors", LATEST)] + [("without_mirrors", d) for d in without_mirrors_days]
    assert services._recent_values(recent(0, 0, 0), overall(*rows)) == expected


def test_non_zero_values_are_rows_and_no_recent_answer_is_no_rows() -> None:
    empty = overall()
    assert services._recent_values(recent(3, 20, 90), empty) == (3, 20, 90)
    assert services._recent_values(recent(0, 0, 7), empty) == (None, None, 7)
    assert services._recent_values(None, overall(("without_mirrors", LATEST))) == (
        None,
        None,
        None,
    )

"""Which of upstream's recent values are real rows and which are its zero-fill (None).

Upstream's `recent` without `period` zero-fills a period it holds no row for, and a row
it holds is a sum over a window ending at its ETL date, never 0: so a 0 is exactly a
missing row (which `period=` answers with 404). Every expected tuple is written by hand.
"""

from __future__ import annotations

import pytest

from packages_app.sync import services
from packages_app.sync.upstream import RecentPayload


def recent(day: int, week: int, month: int) -> RecentPayload:
    return RecentPayload("pkg", day, week, month)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((3, 20, 90), (3, 20, 90)),
        ((0, 0, 7), (None, None, 7)),
        ((0, 5, 0), (None, 5, None)),
        ((1, 0, 0), (1, None, None)),
        ((0, 0, 0), (None, None, None)),
    ],
)
def test_a_zero_is_a_missing_row_and_every_other_value_a_row(
    values: tuple[int, int, int], expected: tuple[int | None, ...]
) -> None:
    assert services._recent_values(recent(*values)) == expected


def test_no_recent_answer_is_no_rows() -> None:
    assert services._recent_values(None) == (None, None, None)

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from packages_app.api import wire


def test_it_writes_compact_sorted_json_with_a_trailing_newline() -> None:
    body = wire.dumps(
        {
            "type": "recent_downloads",
            "package": "demo-pkg",
            "data": {"last_week": 160, "last_day": 100, "last_month": 167},
        }
    )
    assert (
        body
        == b'{"data":{"last_day":100,"last_month":167,"last_week":160},"package":"demo-pkg","type":"recent_downloads"}\n'
    )


def test_it_escapes_non_ascii_like_upstream() -> None:
    assert wire.dumps({"package": "\u00fc"}) == b'{"package":"\\u00fc"}\n'


# --- dumps_series: the breakdown answers, from rows -----------------------------------------

_categories = st.one_of(
    st.sampled_from(["3.10", "null", "other", "Windows", "with_mirrors", "2"]),
    st.text(max_size=12),  # anything a category could hold: quotes, controls, non-ASCII
)
_dates = st.one_of(st.dates(min_value=dt.date(1, 1, 1)), st.dates().map(dt.date.isoformat))
_rows = st.lists(st.tuples(_categories, _dates, st.integers(0, 2**63 - 1)), max_size=40)


@given(rows=_rows, package=st.sampled_from(["demo-pkg", "zope-interface", "\u00fc"]))
def test_dumps_series_is_dumps_of_the_rows(
    rows: list[tuple[str, dt.date | str, int]], package: str
) -> None:
    expected_data = [
        {"category": c, "date": d if isinstance(d, str) else d.isoformat(), "downloads": n}
        for c, d, n in rows
    ]
    expected = wire.dumps(
        {"type": "python_minor_downloads", "package": package, "data": expected_data}
    )
    assert wire.dumps_series(package, "python_minor_downloads", iter(rows)) == expected


def test_dumps_series_empty_and_exact() -> None:
    assert wire.dumps_series("p", "system_downloads", []) == (
        b'{"data":[],"package":"p","type":"system_downloads"}\n'
    )
    body = wire.dumps_series("p", "system_downloads", [("Linux", dt.date(2026, 11, 23), 5)])
    assert body == (
        b'{"data":[{"category":"Linux","date":"2026-11-23","downloads":5}],'
        b'"package":"p","type":"system_downloads"}\n'
    )
    assert wire.dumps_series("p", "t", [("\u00e9\u2028", "2026-01-01", 1)]) == (
        b'{"data":[{"category":"\\u00e9\\u2028","date":"2026-01-01","downloads":1}],'
        b'"package":"p","type":"t"}\n'
    )


def test_dumps_series_names_a_value_json_cannot_write() -> None:
    # orjson writes a UUID; the ASCII-escaping fallback (a non-ASCII category) cannot, and
    # says which type it met.
    import uuid

    with pytest.raises(TypeError, match=r"^not JSON serialisable: UUID$"):
        wire.dumps_series("p", "t", [("\u00e9", uuid.UUID(int=1), 1)])  # type: ignore[list-item]

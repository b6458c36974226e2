from __future__ import annotations

from packages_app import wire


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


def test_category_order_is_casefold_then_date() -> None:
    rows = [
        ("Windows", "2026-11-23"),
        ("null", "2026-11-22"),
        ("other", "2026-11-23"),
        ("Linux", "2026-11-23"),
        ("Darwin", "2026-11-23"),
        ("Linux", "2026-11-22"),
    ]
    ordered = sorted(rows, key=lambda r: wire.row_sort_key(*r))
    assert [c for c, _ in ordered] == ["Darwin", "Linux", "Linux", "null", "other", "Windows"]
    versions = sorted(
        ["3.9", "null", "2.7", "3.12", "3.10"], key=lambda v: wire.row_sort_key(v, "")
    )
    assert versions == ["2.7", "3.10", "3.12", "3.9", "null"]

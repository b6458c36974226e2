"""The PyPI Stats API wire format, shared by our compatible API and the demo upstream.

Upstream (Flask jsonify, production config) writes compact JSON with keys sorted at
every level, `ensure_ascii`, and one trailing newline, as `application/json` with no
charset. Rows are ordered by category, then date, under an en_US-like collation,
which `category.casefold()` reproduces for every category value that exists.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

import orjson

CONTENT_TYPE = "application/json"
# Upstream's error bodies are tiny text/html documents, never JSON.
ERROR_CONTENT_TYPE = "text/html; charset=utf-8"
RATE_LIMITED_BODY = b'<a href="/api/#etiquette">429 RATE LIMIT EXCEEDED</a>'


def dumps(obj: Any) -> bytes:
    """Serialise exactly as upstream does: compact, sorted keys, ASCII-only, trailing newline."""
    body = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    if not body.isascii():
        # orjson writes UTF-8; upstream escapes (ensure_ascii). Rare, so take the slow path.
        body = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()
    return body + b"\n"


def _iso(value: object) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps_series(
    package: str, type_name: str, rows: Iterable[tuple[str, dt.date | str, int]]
) -> bytes:
    """A breakdown answer, `{"data":[{"category","date","downloads"}…],"package","type"}`,
    from (category, date, downloads) rows already in upstream's order: dumps()' bytes.

    The dicts are built with their keys in sorted order, so orjson needs no OPT_SORT_KEYS
    (measured: dicts + orjson beat formatting the rows as strings in Python, ~0.2 ms
    against ~0.4 ms for 2,000 rows). Dates may be `date`s (PostgreSQL) or ISO text (SQLite).
    """
    obj = {
        "data": [{"category": c, "date": d, "downloads": n} for c, d, n in rows],
        "package": package,
        "type": type_name,
    }
    body = orjson.dumps(obj)
    if not body.isascii():
        # As dumps(): upstream escapes non-ASCII. Dates are written as orjson writes them.
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=True, default=_iso).encode()
    return body + b"\n"


def error_body(status: int) -> bytes:
    """Upstream's text body for an error status: `404`, `400`, …"""
    if status == 429:
        return RATE_LIMITED_BODY
    return str(status).encode()

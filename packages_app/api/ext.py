"""Our own JSON: `/api/ext/packages/<name>/{versions,installers,countries}` (issue #16, item 5).

Not in upstream's schema, so not under its paths; in the compatible API's style all the
same (views.py's pieces, reused): upstream's envelope `{"data":[{"category","date",
"downloads"}…],"package","type"}` written by wire.dumps (compact, sorted keys, trailing
newline), rows ordered by category (casefold) then date, `start_date`/`end_date`, ETag and
Cache-Control with 304 on If-None-Match, CORS, the per-IP rate limit with its headers, and
text bodies on errors (`400`, `404`, `503`).

The numbers come from history/breakdown_selectors.py (ClickHouse, cached by package,
options and ClickHouse's latest day). The default window is the one the compatible API
uses: ClickHouse's latest day for the package and the 180 before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from packages_app.api import ratelimit, wire
from packages_app.api.views import (
    ALLOWED_METHODS,
    BadRequest,
    _count,
    _finish,
    _first,
    _limited,
    _not_modified,
    _options,
    _parse_date,
    _text,
    _validators,
)
from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import OTHER, UNKNOWN_COUNTRY, Grouping, Kind
from packages_app.history.client import ClickHouseDisabled, ClickHouseError
from packages_app.history.live import source_key
from packages_app.names import ALL_PACKAGES, canonicalize_or_none

logger = logging.getLogger(__name__)

TYPES = {kind.value: f"{kind.value}_downloads" for kind in Kind}
DEFAULT_WINDOW_DAYS = 180
# How upstream spells an unknown category: the string "null".
NULL = "null"


def _top(raw: str | None) -> int:
    if raw is None:
        return selectors.DEFAULT_TOP
    if not raw.isdigit() or not 1 <= int(raw) <= selectors.MAX_TOP:
        raise BadRequest(400)
    return int(raw)


def _grouping(raw: str | None) -> Grouping:
    if raw is None:
        return Grouping.EXACT
    try:
        return Grouping(raw)
    except ValueError:
        raise BadRequest(400) from None


def _category(kind: Kind, key: str) -> str:
    return NULL if kind is Kind.COUNTRIES and key == UNKNOWN_COUNTRY else key


def _body(name: str, kind: Kind, data: selectors.DailyByKey, names: dict[str, str] | None) -> bytes:
    rows = [
        {"category": _category(kind, key), "date": day.isoformat(), "downloads": n}
        for key, days in data.items()
        for day, n in days.items()
    ]
    rows.sort(key=lambda r: (str(r["category"]).casefold(), str(r["category"]), r["date"]))
    answer: dict[str, object] = {"data": rows, "package": name, "type": TYPES[kind.value]}
    if names is not None:
        shown = {_category(kind, k) for k in data} - {OTHER, NULL}
        answer["names"] = {code: names.get(code, code) for code in sorted(shown)}
    return wire.dumps(answer)


@csrf_exempt
def package_breakdown(request: HttpRequest, name: str, kind: str) -> HttpResponseBase:
    """GET /api/ext/packages/<name>/<kind>"""
    if request.method == "OPTIONS":
        return _options()
    counter = ratelimit.counter(request)
    if request.method not in ("GET", "HEAD"):
        return _finish(request, _text(405, {"Allow": ALLOWED_METHODS}), _count(counter))
    verdict = _count(counter)
    if _limited(verdict):
        return _finish(request, _text(429), verdict)
    try:
        response = _answer(request, name, Kind(kind))
    except BadRequest as exc:
        response = _text(exc.status)
    return _finish(request, response, verdict)


def _answer(request: HttpRequest, raw_name: str, kind: Kind) -> HttpResponse:
    canonical = canonicalize_or_none(raw_name)
    if canonical is None or canonical == ALL_PACKAGES:
        raise BadRequest(404)
    start = _parse_date(_first(request, "start_date"))
    end = _parse_date(_first(request, "end_date"))
    if start is not None and end is not None and start > end:
        raise BadRequest(400)
    grouping = _grouping(_first(request, "grouping")) if kind is Kind.VERSIONS else Grouping.EXACT
    top = _top(_first(request, "top")) if kind is not Kind.INSTALLERS else selectors.DEFAULT_TOP
    try:
        held = selectors.held(canonical)
        if held is None:
            raise BadRequest(404)
        if start is None and end is None:
            start = held.latest - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
        start = start or held.first
        end = end or held.latest
        identity = (
            f"ext:{source_key()}:{canonical}:{held.latest}:{kind.value}:{start}:{end}:"
            f"{grouping.value}:{top}"
        )
        tag = '"' + hashlib.sha256(identity.encode()).hexdigest()[:32] + '"'
        headers = _validators(tag, None)
        if _not_modified(request, tag, None):
            response = HttpResponse(status=304)
        else:
            data = selectors.series(canonical, held, kind, start, end, grouping=grouping, top=top)
            names = selectors.country_names() if kind is Kind.COUNTRIES else None
            response = HttpResponse(
                _body(canonical, kind, data, names), content_type=wire.CONTENT_TYPE
            )
    except ClickHouseDisabled:
        raise BadRequest(404) from None
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer %s of %s: %s", kind.value, canonical, exc)
        return _text(503, {"Retry-After": "60"})
    for key, value in headers:
        response[key] = value
    return response

"""The compatible JSON API: upstream's bytes for the same data, from our store.

`/api/packages/<name>/<endpoint>` answers exactly as pypistats.org does (see
../shared/upstream beside the project root, and the README section "The compatible
JSON API"), with the deliberate differences listed there: full PEP 503 names, `os=other|null` and
`version=null` matching, `start_date`/`end_date`, conditional GET, CORS and our
own rate limit with its headers.

The request path is: parse and validate (4xx in upstream's text form) -> rate
limit -> the package's version (one query) -> 304 if the client holds it -> the
pre-serialised answer from the cache, or one read of the store that builds it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from packages_app.api import cache as api_cache
from packages_app.api import ratelimit, wire
from packages_app.api import selectors as api_selectors
from packages_app.models import Metric
from packages_app.names import canonicalize_or_none

log = logging.getLogger(__name__)

TYPES = {
    "recent": "recent_downloads",
    "overall": "overall_downloads",
    "python_major": "python_major_downloads",
    "python_minor": "python_minor_downloads",
    "system": "system_downloads",
}
# The one parameter each breakdown filters on.
FILTER_PARAM = {"python_major": "version", "python_minor": "version", "system": "os"}
PERIODS = ("day", "week", "month")
# Stored lowercase, so upstream's .title() can never reach them (a deliberate difference).
LOWERCASE_CATEGORIES = frozenset({"null", "other"})
ALLOWED_METHODS = "GET, HEAD, OPTIONS"
EXPOSED_HEADERS = (
    "ETag, Last-Modified, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
)
_DATE_LEN = len("2026-11-24")
# A normalised parameter value that selects nothing (an unknown period, an overlong filter).
NO_MATCH = "\x00"


class BadRequest(Exception):
    """The request cannot be answered: upstream-style text body with this status."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True, slots=True)
class Query:
    """One API request, validated and normalised."""

    name: str  # canonical
    endpoint: str
    value: str | None  # period / mirrors / version / os: the first value sent
    start: dt.date | None
    end: dt.date | None

    @property
    def params(self) -> str:
        """The normalised parameters: what the answer depends on, nothing else."""
        parts = [] if self.value is None else [f"v={self.value}"]
        if self.endpoint != "recent":
            if self.start is not None:
                parts.append(f"s={self.start}")
            if self.end is not None:
                parts.append(f"e={self.end}")
        return "&".join(parts)


def _first(request: HttpRequest, key: str) -> str | None:
    """Upstream (Werkzeug) takes the first value of a repeated parameter; Django's .get() the last."""
    values = request.GET.getlist(key)
    return values[0] if values else None


def _parse_date(raw: str | None) -> dt.date | None:
    if raw is None:
        return None
    # Exactly YYYY-MM-DD: fromisoformat alone would also take "20261124" or "2026-W48".
    if len(raw) != _DATE_LEN or raw[4] != "-" or raw[7] != "-":
        raise BadRequest(400)
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(400) from None


def parse_query(request: HttpRequest, raw_name: str, endpoint: str) -> Query:
    name = canonicalize_or_none(raw_name)
    if name is None or endpoint not in TYPES:
        raise BadRequest(404)
    value: str | None
    if endpoint == "recent":
        value = _first(request, "period")
        start = end = None
    else:
        value = _first(request, "mirrors" if endpoint == "overall" else FILTER_PARAM[endpoint])
        start = _parse_date(_first(request, "start_date"))
        end = _parse_date(_first(request, "end_date"))
        if start is not None and end is not None and start > end:
            raise BadRequest(400)
    return Query(name, endpoint, _normalise(endpoint, value), start, end)


def _normalise(endpoint: str, value: str | None) -> str | None:
    """Fold values that give the same answer together (fewer cache keys, same bytes)."""
    if value is None:
        return None
    if endpoint == "recent":
        return value if value in PERIODS else NO_MATCH
    if endpoint == "overall":
        # Only the exact strings filter; anything else (True, 1, empty) means both series.
        return value if value in ("true", "false") else None
    if len(value) > 64 or "\x00" in value:
        # Longer than any category, or a NUL PostgreSQL cannot even compare: matches nothing.
        return NO_MATCH
    return value


# --- Responses ------------------------------------------------------------------------


def _text(status: int, headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        wire.error_body(status), status=status, content_type=wire.ERROR_CONTENT_TYPE
    )
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def _cors(response: HttpResponseBase) -> HttpResponseBase:
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    return response


def _finish(
    request: HttpRequest, response: HttpResponseBase, verdict: ratelimit.Verdict | None
) -> HttpResponseBase:
    _cors(response)
    if verdict is not None:
        for key, value in verdict.headers().items():
            response[key] = value
    if request.method == "HEAD" and isinstance(response, HttpResponse):
        # Same headers as GET, including the length GET would send; no body.
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response


def _options() -> HttpResponse:
    response = HttpResponse(b"", content_type=wire.ERROR_CONTENT_TYPE)
    response["Allow"] = ALLOWED_METHODS
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response["Access-Control-Allow-Headers"] = "If-None-Match, If-Modified-Since"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _not_modified(request: HttpRequest, tag: str, last_modified: dt.datetime | None) -> bool:
    if_none_match = request.META.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:
        # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2); weak comparison.
        candidates = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return tag in candidates or "*" in candidates
    if_modified_since = request.META.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since and last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return last_modified.replace(microsecond=0) <= since
    return False


def accepts_gzip(request: HttpRequest) -> bool:
    """Whether Accept-Encoding lists gzip (or `*`) with a q above 0 (RFC 9110 12.5.3)."""
    header = request.META.get("HTTP_ACCEPT_ENCODING", "")
    if "gzip" not in header and "*" not in header:
        return False
    offered: dict[str, bool] = {}
    for item in header.lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        try:
            offered[coding.strip()] = float(q) > 0
        except ValueError:
            offered[coding.strip()] = False
    return offered.get("gzip", offered.get("*", False))


def _validators(
    tag: str, last_modified: dt.datetime | None, *, gzipped: bool = False
) -> list[tuple[str, str]]:
    # The gzip representation's ETag is the weak form of the plain one's: a different
    # representation of the same answer (as Django's GZipMiddleware marks it), and the same
    # If-None-Match validates either (the comparison is weak).
    headers = [("ETag", f"W/{tag}" if gzipped else tag)]
    if last_modified is not None:
        headers.append(
            ("Last-Modified", format_datetime(last_modified.astimezone(dt.UTC), usegmt=True))
        )
    headers.append(("Cache-Control", f"public, max-age={settings.API_CACHE_MAX_AGE}"))
    # Every answer of a held package may come gzipped to another client: caches must know.
    headers.append(("Vary", "Accept-Encoding"))
    if gzipped:
        headers.append(("Content-Encoding", "gzip"))
    return headers


# --- Answers ----------------------------------------------------------------------------


def _envelope(query: Query, data: object) -> bytes:
    return wire.dumps({"data": data, "package": query.name, "type": TYPES[query.endpoint]})


def _recent_answer(query: Query, recent: api_selectors.Recent | None) -> tuple[int, bytes]:
    if recent is None:
        return 404, wire.error_body(404)
    held = {"day": recent.last_day, "week": recent.last_week, "month": recent.last_month}
    if all(v is None for v in held.values()):
        return 404, wire.error_body(404)  # no `recent` rows at all
    if query.value is None:
        # Upstream zero-fills the periods it holds no row for.
        data = {f"last_{p}": (v or 0) for p, v in held.items()}
        return 200, _envelope(query, data)
    if query.value not in PERIODS or held[query.value] is None:
        return 404, wire.error_body(404)
    return 200, _envelope(query, {f"last_{query.value}": held[query.value]})


def _categories(query: Query) -> list[str] | None:
    """The stored category names the query's filter selects (None: no filter)."""
    value = query.value
    if value is None:
        return None
    if value == NO_MATCH:
        return []
    if query.endpoint == "overall":
        return ["with_mirrors"] if value == "true" else ["without_mirrors"]
    names = [value.title()]
    if value.casefold() in LOWERCASE_CATEGORIES:
        names.append(value.casefold())
    return names


def _series_answer(query: Query, series: api_selectors.Series | None) -> tuple[int, bytes]:
    rows = series.rows if series is not None else []
    if query.endpoint == "overall" and not rows:
        return 404, wire.error_body(404)
    # Rows arrive in upstream's order (see api_selectors.package_series).
    return 200, wire.dumps_series(query.name, TYPES[query.endpoint], rows)


def _read(query: Query) -> tuple[api_selectors.PackageMeta | None, int, bytes]:
    """Build a series answer from one read of the store (one SQL statement)."""
    series = api_selectors.package_series(
        query.name,
        Metric.from_slug(query.endpoint),
        categories=_categories(query),
        start=query.start,
        end=query.end,
    )
    status, body = _series_answer(query, series)
    return (series.meta if series else None), status, body


def _track_unknown(name: str) -> None:
    """Queue an unknown package for tracking (operator setting, off by default).

    package_track only records the package as due; the frequent sweep fetches it
    later. No upstream call is ever made from a request.
    """
    from packages_app.sync.services import package_track

    try:
        package_track(name=name)
    except Exception:
        log.exception("could not queue %s for tracking", name)


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer for a package we hold, before it becomes an HttpResponse (the view, via
    _response) or a WSGI response (fastpath.py): one implementation for both."""

    status: int
    body: bytes
    content_type: str
    headers: list[tuple[str, str]]  # after Content-Type: the validators, in order


Answer = tuple[HttpResponseBase, ratelimit.Verdict | None]
Replied = tuple[Reply, ratelimit.Verdict | None]


def _count(counter: ratelimit.Counter | None) -> ratelimit.Verdict | None:
    return None if counter is None else ratelimit.check_counter(counter)


def _limited(verdict: ratelimit.Verdict | None) -> bool:
    return verdict is not None and not verdict.allowed


def _rate_limited(verdict: ratelimit.Verdict | None) -> Replied:
    return Reply(429, wire.RATE_LIMITED_BODY, wire.ERROR_CONTENT_TYPE, []), verdict


def _bytes_reply(status: int, body: bytes, headers: list[tuple[str, str]]) -> Reply:
    content_type = wire.CONTENT_TYPE if status == 200 else wire.ERROR_CONTENT_TYPE
    return Reply(status, body, content_type, headers)


def _identity(query: Query, meta: api_selectors.PackageMeta) -> str:
    """The answer's cache key and ETag source: an answer in the default window also
    depends on the ETL date it ends at (api_selectors.package_series), which moves
    without the package's own data_version."""
    params = query.params
    if query.endpoint != "recent" and query.start is None and query.end is None:
        params = f"{params}&w={meta.etl_date}" if params else f"w={meta.etl_date}"
    return api_cache.answer_id(query.name, meta.data_version, query.endpoint, params)


def lookup(query: Query) -> tuple[api_selectors.PackageMeta | None, api_selectors.Recent | None]:
    """The package's meta (one indexed query); for `recent`, its numbers in the same statement."""
    if query.endpoint == "recent":
        # One statement gives the version and the numbers: no cache needed at all.
        recent = api_selectors.package_recent(query.name)
        return (recent.meta if recent is not None else None), recent
    return api_selectors.package_meta(query.name), None


def answer_held(
    request: HttpRequest,
    query: Query,
    meta: api_selectors.PackageMeta,
    recent: api_selectors.Recent | None,
    counter: ratelimit.Counter | None,
) -> Replied:
    """The answer for a package we hold (`meta` from lookup()), counted against `counter`."""
    identity = _identity(query, meta)
    tag = api_cache.etag(identity)
    if _not_modified(request, tag, meta.last_refreshed_at):
        verdict = _count(counter)
        if _limited(verdict):
            return _rate_limited(verdict)
        # Django's HttpResponse(status=304) carries its default content type: so does ours.
        reply = Reply(304, b"", wire.ERROR_CONTENT_TYPE, _validators(tag, meta.last_refreshed_at))
        return reply, verdict
    if recent is not None:
        verdict = _count(counter)
        if _limited(verdict):
            return _rate_limited(verdict)
        status, body = _recent_answer(query, recent)
        return _bytes_reply(status, body, _validators(tag, meta.last_refreshed_at)), verdict
    # The hot path: the client's count and the cached answer (its gzip form for a client that
    # takes it) in one cache round trip.
    gzip_ok = accepts_gzip(request)
    if gzip_ok:
        cached, verdict = api_cache.get_counting(api_cache.gzip_id(identity), counter)
        if _limited(verdict):
            return _rate_limited(verdict)
        if cached is not None:
            status, body = cached
            return _bytes_reply(status, body, _gzip_validators(tag, meta, status, body)), verdict
        cached = api_cache.get(identity)
    else:
        cached, verdict = api_cache.get_counting(identity, counter)
        if _limited(verdict):
            return _rate_limited(verdict)
    if cached is not None:
        status, body = cached
    else:
        read_meta, status, body = _read(query)
        if read_meta is not None and read_meta != meta:
            # A refresh committed between the two reads: the answer is entirely the
            # newer state (one statement), so label and cache it as that version.
            meta = read_meta
            identity = _identity(query, meta)
            tag = api_cache.etag(identity)
        if read_meta is not None:
            api_cache.put(identity, status, body)
    if gzip_ok and status == 200 and len(body) >= api_cache.GZIP_MIN_BYTES:
        # Compressed once per answer and version, then kept beside the plain body.
        body = api_cache.compress(body)
        api_cache.put(api_cache.gzip_id(identity), status, body)
    elif gzip_ok:
        # Kept as it is, under the gzip key too: the next request needs one round trip.
        api_cache.put(api_cache.gzip_id(identity), status, body)
    return _bytes_reply(status, body, _gzip_validators(tag, meta, status, body)), verdict


def _gzip_validators(
    tag: str, meta: api_selectors.PackageMeta, status: int, body: bytes
) -> list[tuple[str, str]]:
    """The validators of a body from the gzip key: compressed or kept as it was (too small, or
    an error's text), as its first bytes say (gzip's magic number)."""
    gzipped = status == 200 and body[:2] == b"\x1f\x8b"
    return _validators(tag, meta.last_refreshed_at, gzipped=gzipped)


def _response(reply: Reply) -> HttpResponse:
    response = HttpResponse(reply.body, status=reply.status, content_type=reply.content_type)
    for key, value in reply.headers:
        response[key] = value
    return response


def _answer(request: HttpRequest, query: Query, counter: ratelimit.Counter | None) -> Answer:
    meta, recent = lookup(query)
    if meta is None:
        verdict = _count(counter)
        if _limited(verdict):
            return _text(429), verdict
        if settings.API_TRACK_UNKNOWN_PACKAGES:
            _track_unknown(query.name)
        # As upstream: 404 on recent/overall, empty data on the breakdowns.
        if query.endpoint in ("recent", "overall"):
            return _bytes_response(404, wire.error_body(404)), verdict
        return _bytes_response(200, _envelope(query, [])), verdict
    reply, verdict = answer_held(request, query, meta, recent, counter)
    return _response(reply), verdict


def _bytes_response(status: int, body: bytes) -> HttpResponse:
    return _response(_bytes_reply(status, body, []))


# --- Views ------------------------------------------------------------------------------


@csrf_exempt
def package_endpoint(request: HttpRequest, name: str, endpoint: str) -> HttpResponseBase:
    """GET /api/packages/<name>/<endpoint>"""
    if request.method == "OPTIONS":
        return _options()
    counter = ratelimit.counter(request)
    if request.method not in ("GET", "HEAD"):
        return _finish(request, _text(405, {"Allow": ALLOWED_METHODS}), _count(counter))
    try:
        query = parse_query(request, name, endpoint)
    except BadRequest as exc:
        verdict = _count(counter)
        status = 429 if _limited(verdict) else exc.status
        return _finish(request, _text(status), verdict)
    response, verdict = _answer(request, query, counter)
    return _finish(request, response, verdict)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponseBase:
    """Anything else under /api/: upstream's text 404 (a trailing slash, `%2F`, …)."""
    if request.method == "OPTIONS":
        return _options()
    return _finish(request, _text(404), ratelimit.check(request))


def api_root_redirect(request: HttpRequest) -> HttpResponse:
    """/api -> 308 /api/, with Werkzeug's redirect body, as upstream answers."""
    target = request.build_absolute_uri("/api/")
    body = (
        "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n"
        "<h1>Redirecting...</h1>\n"
        "<p>You should be redirected automatically to the target URL: "
        f'<a href="{target}">{target}</a>. If not, click the link.\n'
    )
    response = HttpResponse(body.encode(), status=308, content_type=wire.ERROR_CONTENT_TYPE)
    response["Location"] = target
    return response


@cache
def _openapi_bytes() -> bytes:
    return (Path(__file__).parent / "openapi.yml").read_bytes()


@require_safe
def openapi(request: HttpRequest) -> HttpResponse:
    """/api/openapi.yml: our OpenAPI 3.1 document for this API.

    As text/plain, so a browser shows it instead of downloading it; tools read the body
    whatever the type (docs/decisions.md, "OpenAPI document as text")."""
    response = HttpResponse(_openapi_bytes(), content_type="text/plain; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=3600"
    return response


@require_safe
def docs(request: HttpRequest) -> HttpResponse:
    """/api/: the API documented for people."""
    return render(
        request,
        "packages_app/api_docs.html",
        {
            "rate_limit": settings.API_RATE_LIMIT_PER_MINUTE,
            "max_age": settings.API_CACHE_MAX_AGE,
            "window_days": api_selectors.DEFAULT_WINDOW_DAYS,
            "base_url": request.build_absolute_uri("/api/"),
        },
    )

"""The one HTTP client for the PyPI Stats API (pypistats.org/api).

Everything that leaves this process for the upstream goes through UpstreamClient:
  - names are validated and canonicalised (packages_app.names) before any URL is
    built, then URL-quoted into the path;
  - every call takes a slot from the shared request budget (packages_app.sync.budget)
    and 429/5xx/timeouts are retried with exponential backoff and full jitter,
    honouring Retry-After; a 429 pauses every upstream call for a while;
  - every payload is validated strictly; one that fails raises UpstreamBadPayload
    and nothing of it is returned, so nothing of it can be stored.

The httpx.Client is injectable (tests pass a transport or point at a local server);
sleeping and randomness are injectable so retry tests do not wait.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random as _random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeGuard
from urllib.parse import quote, urlsplit

import httpx
import orjson
from django.conf import settings

import pypistats_site
from packages_app.categories import CATEGORIES
from packages_app.models import Metric
from packages_app.names import canonicalize
from packages_app.sync.budget import BudgetExceeded, RequestBudget, default_budget

logger = logging.getLogger(__name__)

RECENT = "recent"
# The endpoints a refresh calls, in the order it calls them: `overall` first, because
# its 404 is the one that means "not on PyPI Stats" (the breakdowns never 404).
SERIES_ENDPOINTS: tuple[str, ...] = ("overall", "python_major", "python_minor", "system")
ENDPOINTS: tuple[str, ...] = (*SERIES_ENDPOINTS, RECENT)

# Per endpoint, the categories it is known to report.
KNOWN_CATEGORIES: dict[str, frozenset[str]] = {
    endpoint: frozenset(CATEGORIES[endpoint]) for endpoint in SERIES_ENDPOINTS
}
# What an unknown but plausible category may look like (a future "3.16", a new OS
# name): it is accepted and logged. Anything else fails the payload. The length
# bound is Category.name's.
_PLAUSIBLE_CATEGORY = {
    "overall": re.compile(r"\A\Z"),  # overall has exactly two categories, nothing new
    "python_major": re.compile(r"\A[0-9]\Z"),
    "python_minor": re.compile(r"\A[0-9]\.[0-9]{1,2}\Z"),
    "system": re.compile(r"\A[A-Za-z][A-Za-z0-9_.-]{0,15}\Z"),
}
_ISO_DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MAX_DOWNLOADS = 2**63 - 1
_RECENT_KEYS = frozenset({"last_day", "last_week", "last_month"})
# A Retry-After beyond this is treated as this: a typo upstream must not park us for a week.
_MAX_RETRY_AFTER = 3600.0


# --- errors -------------------------------------------------------------------------------


class UpstreamError(Exception):
    """Base class of everything the client raises about the upstream."""


class UpstreamNotFound(UpstreamError):
    """404: the package is not on PyPI Stats (for `overall`/`recent`)."""


class UpstreamFailure(UpstreamError):
    """5xx, a transport error or a timeout, after the retries ran out."""


class UpstreamRateLimited(UpstreamFailure):
    """429 (or our own budget would make us wait too long): try again after retry_after."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UpstreamBadPayload(UpstreamError):
    """The answer is not what the API promises (status, content type, JSON, schema)."""


# --- payloads -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeriesPayload:
    """One validated series endpoint answer: (category, date, downloads) rows."""

    endpoint: str
    package: str
    rows: list[tuple[str, dt.date, int]]

    @property
    def metric(self) -> Metric:
        return Metric.from_slug(self.endpoint)


@dataclass(frozen=True, slots=True)
class RecentPayload:
    package: str
    last_day: int
    last_week: int
    last_month: int


# --- validation -----------------------------------------------------------------------------


def _fail(endpoint: str, message: str) -> UpstreamBadPayload:
    return UpstreamBadPayload(f"{endpoint}: {message}")


def _is_count(value: object) -> TypeGuard[int]:
    # bool is an int subclass: `true` is not a download count.
    return type(value) is int and 0 <= value <= _MAX_DOWNLOADS


def _decode(endpoint: str, body: bytes) -> dict[str, object]:
    """The envelope of an answer; its members are still unchecked JSON, hence object."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _fail(endpoint, f"invalid JSON ({exc})") from None
    if not isinstance(document, dict):
        raise _fail(endpoint, "the document is not an object")
    if set(document) != {"data", "package", "type"}:
        raise _fail(endpoint, f"unexpected keys {sorted(document)}")
    return document


def _check_envelope(endpoint: str, document: dict[str, object], package: str) -> None:
    expected_type = "recent_downloads" if endpoint == RECENT else f"{endpoint}_downloads"
    if document["type"] != expected_type:
        raise _fail(endpoint, f"type is {document['type']!r}, expected {expected_type!r}")
    if document["package"] != package:
        raise _fail(endpoint, f"package is {document['package']!r}, expected {package!r}")


def parse_series(endpoint: str, body: bytes, package: str) -> SeriesPayload:
    """Validate a series answer; raise UpstreamBadPayload on the first thing that is wrong."""
    document = _decode(endpoint, body)
    _check_envelope(endpoint, document, package)
    data = document["data"]
    if not isinstance(data, list):
        raise _fail(endpoint, "data is not a list")
    known = KNOWN_CATEGORIES[endpoint]
    plausible = _PLAUSIBLE_CATEGORY[endpoint]
    unknown: set[str] = set()
    seen: set[tuple[str, str]] = set()
    dates: dict[str, dt.date] = {}
    rows: list[tuple[str, dt.date, int]] = []
    for index, row in enumerate(data):
        if not isinstance(row, dict) or len(row) != 3:
            raise _fail(endpoint, f"row {index} is not a 3-key object")
        try:
            category, day, downloads = row["category"], row["date"], row["downloads"]
        except KeyError as exc:
            raise _fail(endpoint, f"row {index} has no {exc.args[0]!r}") from None
        if type(category) is not str:
            raise _fail(endpoint, f"row {index}: category is not a string")
        if category not in known:
            if not plausible.match(category):
                raise _fail(endpoint, f"row {index}: unexpected category {category!r}")
            unknown.add(category)
        if type(day) is not str:
            raise _fail(endpoint, f"row {index}: date is not a string")
        date = dates.get(day)
        if date is None:
            if not _ISO_DATE.match(day):
                raise _fail(endpoint, f"row {index}: date {day!r} is not YYYY-MM-DD")
            try:
                date = dt.date.fromisoformat(day)
            except ValueError:
                raise _fail(endpoint, f"row {index}: {day!r} is not a date") from None
            dates[day] = date
        if not _is_count(downloads):
            raise _fail(endpoint, f"row {index}: downloads {downloads!r} is not a count")
        key = (category, day)
        if key in seen:
            raise _fail(endpoint, f"row {index}: duplicate {category} {day}")
        seen.add(key)
        rows.append((category, date, downloads))
    if unknown:
        logger.warning(
            "upstream %s for %s has unknown categories %s (accepted)",
            endpoint,
            package,
            sorted(unknown),
        )
    return SeriesPayload(endpoint=endpoint, package=package, rows=rows)


def parse_recent(body: bytes, package: str) -> RecentPayload:
    document = _decode(RECENT, body)
    _check_envelope(RECENT, document, package)
    data = document["data"]
    if not isinstance(data, dict) or set(data) != _RECENT_KEYS:
        raise _fail(RECENT, "data is not {last_day, last_week, last_month}")
    for key in _RECENT_KEYS:
        if not _is_count(data[key]):
            raise _fail(RECENT, f"{key} {data[key]!r} is not a count")
    return RecentPayload(
        package=package,
        last_day=data["last_day"],
        last_week=data["last_week"],
        last_month=data["last_month"],
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date. None when absent/invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)


def user_agent() -> str:
    return f"pypistats-site/{pypistats_site.__version__} (+{settings.UPSTREAM_CONTACT})"


# --- the client ----------------------------------------------------------------------------------


# How a call that got no answer at all is recorded (UpstreamClient._get); is_unreachable
# reads them back.
_UNREACHABLE_MARKERS = (": timeout (", ": transport error (")


def is_unreachable(message: str) -> bool:
    """Whether a recorded refresh error says upstream could not be reached (no connection, no
    answer in time), rather than an answer that was refused."""
    return any(marker in message for marker in _UNREACHABLE_MARKERS)


@dataclass
class UpstreamClient:
    """Calls the upstream within the shared budget, retries, validates.

    `max_wait` bounds how long one call may wait for a budget slot or a retry:
    a Celery task passes a bound and gives the worker back (retrying later with a
    countdown) instead of blocking it; the in-process `refresh` command waits.
    """

    base_url: str = ""
    http: httpx.Client | None = None
    budget: RequestBudget | None = None
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random
    max_tries: int = 0
    max_wait: float | None = None
    calls: int = 0
    _owns_http: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or settings.PYPISTATS_API_URL).rstrip("/")
        if self.http is None:
            self.http = httpx.Client(
                timeout=httpx.Timeout(
                    settings.UPSTREAM_READ_TIMEOUT, connect=settings.UPSTREAM_CONNECT_TIMEOUT
                ),
                follow_redirects=False,
                headers={"User-Agent": user_agent(), "Accept": "application/json"},
            )
            self._owns_http = True
        else:
            self.http.headers["User-Agent"] = user_agent()
            self.http.follow_redirects = False
        if self.budget is None:
            self.budget = default_budget(self.base_url)
        self.max_tries = self.max_tries or settings.UPSTREAM_MAX_TRIES

    def close(self) -> None:
        if self._owns_http and self.http is not None:
            self.http.close()

    def __enter__(self) -> UpstreamClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Public calls: one per endpoint.

    def series(self, endpoint: str, name: str) -> SeriesPayload:
        if endpoint not in SERIES_ENDPOINTS:
            raise ValueError(endpoint)
        package = canonicalize(name)
        body = self._get(endpoint, package)
        return parse_series(endpoint, body, package)

    def recent(self, name: str) -> RecentPayload:
        package = canonicalize(name)
        return parse_recent(self._get(RECENT, package), package)

    # Internals.

    def _url(self, endpoint: str, package: str) -> str:
        return f"{self.base_url}/packages/{quote(package, safe='')}/{endpoint}"

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
        ceiling: float = min(
            settings.UPSTREAM_BACKOFF_CAP, settings.UPSTREAM_BACKOFF_BASE * 2 ** (attempt - 1)
        )
        return self.random() * ceiling

    def _reserve(self, endpoint: str) -> None:
        assert self.budget is not None
        try:
            wait = self.budget.reserve(endpoint, max_wait=self.max_wait)
        except BudgetExceeded as exc:
            raise UpstreamRateLimited(
                f"{endpoint}: the request budget has no slot for {exc.wait:.0f} s",
                retry_after=exc.wait,
            ) from None
        if wait > 0:
            self.sleep(wait)

    def _get(self, endpoint: str, package: str) -> bytes:
        assert self.http is not None and self.budget is not None
        url = self._url(endpoint, package)
        host = urlsplit(url).netloc
        for attempt in range(1, self.max_tries + 1):
            self._reserve(endpoint)
            self.calls += 1
            retry_after: float | None = None
            try:
                response = self.http.get(url)
            except httpx.TimeoutException as exc:
                error: UpstreamError = UpstreamFailure(
                    f"{endpoint}: timeout ({type(exc).__name__})"
                )
            except httpx.TransportError as exc:
                error = UpstreamFailure(
                    f"{endpoint}: transport error ({type(exc).__name__}: {exc})"
                )
            else:
                status = response.status_code
                if status == 200:
                    content_type = response.headers.get("content-type", "")
                    if content_type.split(";")[0].strip().lower() != "application/json":
                        raise _fail(endpoint, f"content type {content_type!r}")
                    return response.content
                if status == 404:
                    raise UpstreamNotFound(f"{endpoint}: 404 for {package}")
                if status == 429:
                    retry_after = parse_retry_after(response.headers.get("retry-after"))
                    pause = max(retry_after or 0.0, settings.UPSTREAM_PAUSE_AFTER_429)
                    # Every upstream call, in every worker, waits this long.
                    self.budget.pause(pause)
                    logger.warning(
                        "upstream %s answered 429; pausing all calls %.0f s", host, pause
                    )
                    retry_after = pause
                    error = UpstreamRateLimited(f"{endpoint}: 429", retry_after=pause)
                elif status >= 500:
                    error = UpstreamFailure(f"{endpoint}: HTTP {status}")
                else:
                    # 3xx (we never follow redirects) or another 4xx: not a retryable fault.
                    raise _fail(endpoint, f"unexpected HTTP {status}")
            if attempt == self.max_tries:
                raise error
            delay = self._backoff(attempt)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if self.max_wait is not None and delay > self.max_wait:
                if isinstance(error, UpstreamRateLimited):
                    error.retry_after = max(error.retry_after or 0.0, delay)
                raise error
            logger.info("upstream %s: %s; retry %d in %.1f s", host, error, attempt, delay)
            # A 429 already paused the budget, so the next reserve waits out the pause.
            if not isinstance(error, UpstreamRateLimited):
                self.sleep(delay)
        raise AssertionError("unreachable")

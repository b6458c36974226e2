"""The ONE seam to ClickHouse: httpx over its HTTP interface (docs/decisions.md, "ClickHouse client").

Every query goes through `ClickHouseClient.select`: SQL text written in this package only,
user input bound as typed parameters (`{p:String}` with `param_p=`), never formatted into
the SQL. Calls keep to a request budget shared by every process (sync/budget.py's, under
its own key), time out, and retry timeouts, transport errors, 5xx answers and broken
bodies with exponential backoff and full jitter. A quota error (QUOTA_EXCEEDED, 201, which
ClickHouse sends as an HTTP 500) is treated like upstream's 429: every process pauses.
Answers are JSONCompactEachRow; a body that does not parse, or that carries the exception
block ClickHouse writes into an answer it has already started, is an error, never rows.
"""

from __future__ import annotations

import json
import logging
import random as _random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from packages_app.sync.budget import BudgetExceeded, RequestBudget, make_store, rules_from_rates
from packages_app.sync.upstream import user_agent

logger = logging.getLogger(__name__)

# ClickHouse error codes the client tells apart (X-ClickHouse-Exception-Code).
QUOTA_EXCEEDED = 201
READONLY = 164
AUTHENTICATION_FAILED = 516
# The budget's endpoint name: ClickHouse's quotas are per user, not per view.
BUDGET_ENDPOINT = "query"

Row = list[object]


class ClickHouseError(Exception):
    """Base class of everything the client raises about ClickHouse."""


class ClickHouseUnavailable(ClickHouseError):
    """Timeouts, transport errors, 5xx, broken bodies: worth trying again later."""


class ClickHouseRateLimited(ClickHouseUnavailable):
    """Our budget has no slot, or ClickHouse's quota ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ClickHouseRefused(ClickHouseError):
    """An answer retrying cannot change: wrong credentials, a read-only refusal, bad SQL."""


class ClickHouseDisabled(ClickHouseError):
    """CLICKHOUSE_URL is empty: the source is off."""


def enabled() -> bool:
    return bool(settings.CLICKHOUSE_URL)


def budget_prefix(base_url: str) -> str:
    """One budget per ClickHouse host:port (quotas are per user there; ours is per host)."""
    return "clickhouse-budget:" + (urlsplit(base_url).netloc or base_url)


def default_budget(base_url: str) -> RequestBudget:
    rules = rules_from_rates(
        settings.CLICKHOUSE_RATE_PER_SECOND, settings.CLICKHOUSE_RATE_PER_MINUTE
    )
    return RequestBudget(make_store(budget_prefix(base_url)), rules)


def parse_rows(body: bytes) -> list[Row]:
    """JSONCompactEachRow rows; raises ClickHouseUnavailable on anything else in the body.

    The lines are parsed as one JSON array (one call into the C decoder instead of one per
    row: a ten-year series is ~60,000 rows); any line that is not a row fails the whole.
    """
    if body and not body.endswith(b"\n"):
        raise ClickHouseUnavailable("the answer stops in the middle of a row")
    lines = [line for line in body.split(b"\n") if line.strip()]
    for number, line in enumerate(lines, start=1):
        if line.startswith(b"__exception__"):
            raise ClickHouseUnavailable(f"the answer broke off at row {number}: an exception block")
    try:
        rows: list[Row] = json.loads(b"[" + b",".join(lines) + b"]")
    except ValueError:
        raise ClickHouseUnavailable("the answer does not parse as rows") from None
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, list):
            raise ClickHouseUnavailable(f"row {number} is not a row: {type(row).__name__}")
    return rows


@dataclass
class ClickHouseClient:
    """Runs read-only queries within the shared budget; counts the queries it sent."""

    base_url: str = ""
    user: str = ""
    password: str = ""
    database: str = ""
    http: httpx.Client | None = None
    budget: RequestBudget | None = None
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random
    max_tries: int = 0
    max_wait: float | None = None
    calls: int = 0
    _owns_http: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        self.base_url = (self.base_url or settings.CLICKHOUSE_URL).rstrip("/")
        if not self.base_url:
            raise ClickHouseDisabled("CLICKHOUSE_URL is empty: the ClickHouse source is off")
        self.user = self.user or settings.CLICKHOUSE_USER
        self.password = self.password or settings.CLICKHOUSE_PASSWORD
        self.database = self.database or settings.CLICKHOUSE_DATABASE
        if self.http is None:
            self.http = httpx.Client(
                timeout=httpx.Timeout(
                    settings.CLICKHOUSE_READ_TIMEOUT, connect=settings.CLICKHOUSE_CONNECT_TIMEOUT
                ),
                follow_redirects=False,
            )
            self._owns_http = True
        self.http.headers.update(
            {
                "User-Agent": user_agent(),
                "X-ClickHouse-User": self.user,
                "X-ClickHouse-Key": self.password,
            }
        )
        if self.budget is None:
            self.budget = default_budget(self.base_url)
        self.max_tries = self.max_tries or settings.CLICKHOUSE_MAX_TRIES

    def close(self) -> None:
        if self._owns_http and self.http is not None:
            self.http.close()

    def __enter__(self) -> ClickHouseClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def select(self, sql: str, params: Mapping[str, str]) -> list[Row]:
        """The rows of one SELECT; `params` bind its `{name:Type}` placeholders."""
        assert self.http is not None and self.budget is not None
        query = {
            "database": self.database,
            "default_format": "JSONCompactEachRow",
            # Int64 sums as JSON numbers, not strings.
            "output_format_json_quote_64bit_integers": "0",
            **{f"param_{name}": value for name, value in params.items()},
        }
        for attempt in range(1, self.max_tries + 1):
            self._reserve()
            self.calls += 1
            retry_after: float | None = None
            try:
                response = self.http.post(self.base_url + "/", params=query, content=sql)
                body = response.content
            except httpx.TimeoutException as exc:
                error: ClickHouseUnavailable = ClickHouseUnavailable(
                    f"timeout ({type(exc).__name__})"
                )
            except httpx.TransportError as exc:
                # A body cut short (Content-Length not reached, chunks broken off) lands here.
                error = ClickHouseUnavailable(f"transport error ({type(exc).__name__}: {exc})")
            else:
                code = response.headers.get("x-clickhouse-exception-code")
                if response.status_code == 200 and code is None:
                    try:
                        return parse_rows(body)
                    except ClickHouseUnavailable as exc:
                        error = exc
                elif code == str(QUOTA_EXCEEDED):
                    pause = settings.CLICKHOUSE_PAUSE_AFTER_QUOTA
                    # Every ClickHouse query, in every worker, waits this long.
                    self.budget.pause(pause)
                    logger.warning("ClickHouse quota exceeded; pausing all queries %.0f s", pause)
                    retry_after = pause
                    error = ClickHouseRateLimited("quota exceeded (201)", retry_after=pause)
                elif response.status_code >= 500 and code != str(READONLY):
                    error = ClickHouseUnavailable(
                        f"HTTP {response.status_code}" + (f", code {code}" if code else "")
                    )
                else:
                    text = body[:300].decode("utf-8", "replace").strip()
                    raise ClickHouseRefused(f"HTTP {response.status_code}, code {code}: {text}")
            if attempt == self.max_tries:
                raise error
            delay = self._backoff(attempt)
            if retry_after is not None:
                delay = max(delay, retry_after)
            if self.max_wait is not None and delay > self.max_wait:
                if isinstance(error, ClickHouseRateLimited):
                    error.retry_after = max(error.retry_after or 0.0, delay)
                raise error
            logger.info("ClickHouse: %s; retry %d in %.1f s", error, attempt, delay)
            # A quota error already paused the budget: the next reserve waits it out.
            if not isinstance(error, ClickHouseRateLimited):
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
        ceiling: float = min(
            settings.CLICKHOUSE_BACKOFF_CAP, settings.CLICKHOUSE_BACKOFF_BASE * 2 ** (attempt - 1)
        )
        return self.random() * ceiling

    def _reserve(self) -> None:
        assert self.budget is not None
        try:
            wait = self.budget.reserve(BUDGET_ENDPOINT, max_wait=self.max_wait)
        except BudgetExceeded as exc:
            raise ClickHouseRateLimited(
                f"the request budget has no slot for {exc.wait:.0f} s", retry_after=exc.wait
            ) from None
        if wait > 0:
            self.sleep(wait)

"""The upstream request budget, shared by every process that calls the upstream.

Upstream allows 5 requests/s and 30/min per IP and per endpoint (a fixed window),
and answers 429 beyond that. We keep a margin below it (settings
UPSTREAM_RATE_PER_SECOND / UPSTREAM_RATE_PER_MINUTE, 1/s and 20/min by default),
counted per endpoint over every worker process.

Algorithm: a sliding log of reserved send times per endpoint. A caller asks for a
slot; the budget picks the earliest time t >= now such that, for every rule
(limit, period), fewer than `limit` sends fall in (t - period, t], records t at
once (so two processes never get the same slot) and returns how long to wait.
Slots are handed out in increasing order, so checking the window that ends at t
is enough. A 429 sets a shared "paused until" time that every slot respects.

Two interchangeable stores: Redis (an atomic Lua script, clock = Redis TIME, so
machines with skewed clocks still agree) when REDIS_URL is set, and a state file
under VAR_DIR guarded by an exclusive file lock otherwise.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypedDict, cast
from urllib.parse import urlsplit

from django.conf import settings

# Sends are spaced this much more than the rules strictly need, so that scheduling and network
# delays (a busy 2-core worker) never make two sends look closer together at the upstream.
DEFAULT_MARGIN = 0.25

Rule = tuple[int, float]  # (limit, period in seconds)


class BudgetExceeded(Exception):
    """No slot within max_wait; nothing was reserved."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next slot in {wait:.1f} s")
        self.wait = wait


def rules_from_rates(per_second: float, per_minute: float) -> list[Rule]:
    """Turn "N per second / M per minute" into (limit, period) rules. 0 means no limit."""
    rules: list[Rule] = []
    for rate, window in ((per_second, 1.0), (per_minute, 60.0)):
        if rate <= 0:
            continue
        if rate >= 1:
            rules.append((int(rate), window))
        else:
            # 0.5/s = 1 per 2 s.
            rules.append((1, window / rate))
    return rules


def earliest_slot(
    log: Sequence[float], now: float, paused_until: float, rules: Sequence[Rule], margin: float
) -> float:
    """The earliest send time allowed by `rules`, given the sorted send times in `log`."""
    slot = max(now, paused_until, log[-1] if log else now)
    for limit, period in rules:
        if len(log) >= limit:
            slot = max(slot, log[-limit] + period + margin)
    return slot


class Store(Protocol):
    def reserve(
        self, endpoint: str, rules: Sequence[Rule], margin: float, max_wait: float | None
    ) -> float: ...

    def pause(self, seconds: float) -> None: ...

    def paused_for(self) -> float: ...


_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_wait = tonumber(ARGV[1])
local margin = tonumber(ARGV[2])
local nonce = ARGV[3]
local longest = 0
for i = 4, #ARGV, 2 do
  local period = tonumber(ARGV[i + 1])
  if period > longest then longest = period end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest - margin - 1)
local slot = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > slot then slot = paused end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) > slot then slot = tonumber(last[2]) end
local size = redis.call('ZCARD', KEYS[1])
for i = 4, #ARGV, 2 do
  local limit = tonumber(ARGV[i])
  local period = tonumber(ARGV[i + 1])
  if size >= limit then
    local e = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
    local candidate = tonumber(e[2]) + period + margin
    if candidate > slot then slot = candidate end
  end
end
local wait = slot - now
if max_wait >= 0 and wait > max_wait then
  return {0, tostring(wait)}
end
redis.call('ZADD', KEYS[1], string.format('%.6f', slot), nonce)
redis.call('PEXPIRE', KEYS[1], math.ceil((wait + longest + margin + 1) * 1000))
return {1, tostring(wait)}
"""

_PAUSE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local untl = now + tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], string.format('%.6f', untl), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return tostring(math.max(untl, current) - now)
"""

_PAUSED_FOR_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
return tostring(math.max(current - now, 0))
"""


class RedisStore:
    """Budget state in Redis, shared by every worker on every machine."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.prefix = prefix
        self._reserve = self.client.register_script(_RESERVE_LUA)
        self._pause = self.client.register_script(_PAUSE_LUA)
        self._paused_for = self.client.register_script(_PAUSED_FOR_LUA)

    def _pause_key(self) -> str:
        return f"{self.prefix}:paused-until"

    def reserve(
        self, endpoint: str, rules: Sequence[Rule], margin: float, max_wait: float | None
    ) -> float:
        args: list[str | float | int] = [
            -1 if max_wait is None else max_wait,
            margin,
            secrets.token_hex(8),
        ]
        for limit, period in rules:
            args += [limit, period]
        granted, wait = self._reserve(
            keys=[f"{self.prefix}:log:{endpoint}", self._pause_key()], args=args
        )
        if not int(granted):
            raise BudgetExceeded(float(wait))
        return max(float(wait), 0.0)

    def pause(self, seconds: float) -> None:
        self._pause(keys=[self._pause_key()], args=[seconds])

    def paused_for(self) -> float:
        return float(self._paused_for(keys=[self._pause_key()]))


class _FileState(TypedDict, total=False):
    """What FileStore keeps in its file (epoch seconds)."""

    logs: dict[str, list[float]]  # per endpoint: the latest send slots reserved
    paused_until: float  # the shared pause ends then


class FileStore:
    """Budget state in a JSON file under VAR_DIR, guarded by an exclusive flock.

    The server-less mode runs every process on one machine, so time.time() is one clock.
    """

    def __init__(self, directory: Path, prefix: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        safe = hashlib.sha1(prefix.encode()).hexdigest()[:16]
        self.path = directory / f"budget-{safe}.json"
        self.lock_path = directory / f"budget-{safe}.lock"

    def _locked(self) -> int:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def _load(self) -> _FileState:
        try:
            data = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        # Only _save writes this file; reserve() still checks the logs' shape as it reads.
        return cast(_FileState, data) if isinstance(data, dict) else {}

    def _save(self, data: _FileState) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.path)

    def reserve(
        self, endpoint: str, rules: Sequence[Rule], margin: float, max_wait: float | None
    ) -> float:
        if not rules:
            # No limits (benchmarks): only the shared pause applies; nothing to record.
            wait = self.paused_for()
            if max_wait is not None and wait > max_wait:
                raise BudgetExceeded(wait)
            return wait
        fd = self._locked()
        try:
            data = self._load()
            now = time.time()
            longest = max((period for _, period in rules), default=0.0)
            logs = data.get("logs")
            logs = logs if isinstance(logs, dict) else {}
            log = sorted(
                float(t) for t in logs.get(endpoint, []) if float(t) > now - longest - margin - 1
            )
            paused = float(data.get("paused_until", 0.0))
            slot = earliest_slot(log, now, paused, rules, margin)
            wait = slot - now
            if max_wait is not None and wait > max_wait:
                raise BudgetExceeded(wait)
            log.append(slot)
            keep = max((limit for limit, _ in rules), default=1)
            logs[endpoint] = log[-keep:]
            data["logs"] = logs
            self._save(data)
            return max(wait, 0.0)
        finally:
            os.close(fd)

    def pause(self, seconds: float) -> None:
        fd = self._locked()
        try:
            data = self._load()
            until = time.time() + seconds
            data["paused_until"] = max(until, float(data.get("paused_until", 0.0)))
            self._save(data)
        finally:
            os.close(fd)

    def paused_for(self) -> float:
        fd = self._locked()
        try:
            paused = float(self._load().get("paused_until", 0.0))
        finally:
            os.close(fd)
        return max(paused - time.time(), 0.0)


class RequestBudget:
    """Per-endpoint send slots under a set of (limit, period) rules, plus a shared pause."""

    def __init__(
        self, store: Store, rules: Sequence[Rule], *, margin: float = DEFAULT_MARGIN
    ) -> None:
        self.store = store
        self.rules = list(rules)
        self.margin = margin

    def reserve(self, endpoint: str, *, max_wait: float | None = None) -> float:
        """Reserve the next send slot for `endpoint`; return the seconds to wait before sending.

        Raises BudgetExceeded (reserving nothing) when that wait would exceed max_wait.
        With no rules, only the shared pause applies.
        """
        return self.store.reserve(
            endpoint, self.rules, self.margin if self.rules else 0.0, max_wait
        )

    def pause(self, seconds: float) -> None:
        """Hold every upstream call, in every process, for `seconds` (never shortens a pause)."""
        if seconds > 0 and math.isfinite(seconds):
            self.store.pause(seconds)

    def paused_for(self) -> float:
        return self.store.paused_for()


def budget_prefix(base_url: str) -> str:
    """One budget per upstream host:port (the limits are the upstream's, per IP)."""
    return "upstream-budget:" + (urlsplit(base_url).netloc or base_url)


def make_store(prefix: str) -> Store:
    if settings.REDIS_URL:
        return RedisStore(settings.REDIS_URL, prefix)
    return FileStore(Path(settings.VAR_DIR) / "upstream", prefix)


def default_budget(base_url: str | None = None) -> RequestBudget:
    """The budget from settings, in Redis when REDIS_URL is set, else in a file under VAR_DIR."""
    base_url = base_url or settings.PYPISTATS_API_URL
    rules = rules_from_rates(settings.UPSTREAM_RATE_PER_SECOND, settings.UPSTREAM_RATE_PER_MINUTE)
    return RequestBudget(make_store(budget_prefix(base_url)), rules)

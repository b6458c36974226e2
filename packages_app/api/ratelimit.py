"""Our own per-client-IP limit on the JSON API: a fixed one-minute window, counted in shared_store.

Upstream allows 5/s and 30/min per IP and endpoint, counted per worker process in
memory. Ours is one budget per client IP across every API endpoint and every
worker, shared through shared_store (an atomic INCR on Redis), and generous by
default (settings.API_RATE_LIMIT_PER_MINUTE, 0 turns it off). A store that is
down never turns into an error: the request is simply not limited.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest

from packages_app.api import shared_store

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def _valid_ip(value: str) -> str | None:
    value = value.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind trusted proxies.

    With N trusted proxies (PROXY_COUNT, settings.AXES_IPWARE_PROXY_COUNT), each of
    them appended the address it received the request from, so the client is the
    N-th entry from the right. With fewer entries than that, or a malformed one,
    the socket peer is used: a client cannot choose its own bucket.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = int(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0)
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        entries = [e for e in forwarded.split(",") if e.strip()]
        if len(entries) >= proxies:
            ip = _valid_ip(entries[-proxies])
            if ip is not None:
                return ip
    return remote


@dataclass(frozen=True, slots=True)
class Counter:
    """This request's counter in the current window, to be counted by the caller."""

    key: str
    limit: int
    reset: int
    ttl: int = WINDOW_SECONDS + 5

    def verdict(self, count: int | None) -> Verdict:
        if count is None:  # the store could not count: not limited
            return Verdict(True, self.limit, self.limit, self.reset)
        return Verdict(count <= self.limit, self.limit, max(0, self.limit - count), self.reset)


def counter(request: HttpRequest) -> Counter | None:
    """The counter this request goes against; None when limiting is off."""
    limit = int(settings.API_RATE_LIMIT_PER_MINUTE)
    if limit <= 0:
        return None
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    reset = max(1, int((window + 1) * WINDOW_SECONDS - now + 0.999))
    return Counter(f"api-rl:{client_ip(request)}:{window}", limit, reset)


def check_counter(current: Counter) -> Verdict:
    return current.verdict(shared_store.count(current.key, current.ttl))


def check(request: HttpRequest) -> Verdict | None:
    """Count this request against its client's budget; None when limiting is off."""
    current = counter(request)
    return None if current is None else check_counter(current)

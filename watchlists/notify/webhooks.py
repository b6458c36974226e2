"""Outgoing webhooks: address checks (SSRF), payload formats, HMAC signatures, the POST.

The URL is checked when the owner saves it AND again at send time, and the request
goes to the very address that was checked (the connection is pinned to it, with the
original Host header and TLS server name), so a DNS answer that changes between the
check and the connect (DNS rebinding) cannot reach an internal address.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

SIGNATURE_HEADER = "X-Pypistats-Signature"
TIMESTAMP_HEADER = "X-Pypistats-Timestamp"
EVENT_HEADER = "X-Pypistats-Event"
USER_AGENT = "pypistats-site-webhooks/1"


class UnsafeURL(ValueError):
    """The URL is not an http(s) URL to a public address."""


# NAT64's local-use prefix (RFC 8215): never routed on the Internet, and the IPv4 address
# sits at a place that depends on the operator's prefix length, so the whole /48 is refused.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# Prefixes whose last 32 bits are an IPv4 address: NAT64's well-known prefix (RFC 6052) and
# the deprecated IPv4-compatible addresses (::a.b.c.d, RFC 4291; also :: and ::1 themselves).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_IN_LAST_32_BITS = (_NAT64, ipaddress.IPv6Network("::/96"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address wraps, which a gateway would reach for it:
    IPv4-mapped, 6to4 (2002::/16), Teredo (2001::/32: its server and client), NAT64
    (64:ff9b::/96) and IPv4-compatible (::/96)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in _IPV4_IN_LAST_32_BITS):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False):
        return True
    return _global(ip)


def _global(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A public address, and (for IPv6) one that wraps no address that is not."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        # A wrapped IPv4 decides, whatever the IPv6 prefix itself is: 2002:7f00:1:: is
        # 127.0.0.1 to any host with a 6to4 relay, though 2002::/16 counts as global.
        if not all(_global(v4) for v4 in embedded_ipv4(ip)):
            return False
        if ip.ipv4_mapped is not None or ip in _NAT64:
            # As IPv6 these fall in reserved space (::ffff:0:0/96, ::/8); the IPv4 inside,
            # checked above, is where they lead. (A DNS64 resolver on an IPv6-only host
            # answers 64:ff9b::a.b.c.d for every IPv4-only receiver.)
            return True
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_checked(url: str) -> tuple[str, str, list[str]]:
    """(scheme, host, addresses) for a URL whose every address is allowed; UnsafeURL otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("This is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs are allowed.")
    host = parts.hostname
    if not host:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Credentials in the URL are not allowed; put a token in the path.")
    try:
        infos = socket.getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host} does not resolve.") from exc
    addresses = sorted({str(info[4][0]) for info in infos})
    if not addresses:
        raise UnsafeURL(f"The host {host} does not resolve.")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not _allowed(ip):
            raise UnsafeURL(
                f"The host {host} resolves to {address}, a private, loopback or reserved "
                "address: webhooks may only go to public addresses."
            )
    return parts.scheme, host, addresses


# --- payloads ------------------------------------------------------------------------------


class ChangeData(TypedDict):
    package: str
    window_end: str  # ISO date
    last_7_days: int
    baseline_mean: float
    change_pct: float


class MilestoneData(TypedDict):
    package: str
    milestone: int
    total: int


class StaleData(TypedDict):
    package: str
    latest_date: str  # ISO date
    days: int


class AdoptionData(TypedDict):
    package: str
    version: str
    share_pct: float
    window_end: str  # ISO date: ClickHouse's latest day for the package


class InstallerData(TypedDict):
    package: str
    installer: str
    share_pct: float
    window_end: str  # ISO date


# The figures behind an alert, by rule kind (change, milestone, stale, adoption, installer).
type AlertData = ChangeData | MilestoneData | StaleData | AdoptionData | InstallerData


class AlertMessage(TypedDict):
    """One alert, as the generic webhook format posts it and the alert email's row keeps it."""

    event: str  # "alert"
    kind: str  # AlertRule.Kind
    title: str
    text: str
    url: str
    watchlist: str  # its name
    data: AlertData
    key: str  # the notification's event: one key per alert, for receivers to deduplicate


class SlackBody(TypedDict):
    text: str


class DiscordBody(TypedDict):
    content: str


# What one webhook format posts (Webhook.Format: generic, slack, discord).
type WebhookBody = AlertMessage | SlackBody | DiscordBody


def payload_for(fmt: str, message: AlertMessage) -> WebhookBody:
    """The JSON body for a webhook format from a message {event, title, text, url, data}."""
    text = f"{message['title']}\n{message['text']}"
    if message.get("url"):
        text += f"\n{message['url']}"
    if fmt == "slack":
        return {"text": text}
    if fmt == "discord":
        # Discord rejects content over 2000 characters.
        return {"content": text[:2000]}
    return message


def body_bytes(payload: Mapping[str, object]) -> bytes:
    """The exact bytes posted and signed: compact, sorted keys, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# How far a receiver should let a timestamp be from its own clock (docs/webhooks.md).
SIGNATURE_TOLERANCE_SECONDS = 300


def signed_bytes(timestamp: str, body: bytes) -> bytes:
    """What the signature covers: the timestamp header's value, a dot, the exact body. Both
    together, so a receiver that refuses old timestamps refuses a replayed post too."""
    return timestamp.encode("ascii") + b"." + body


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), signed_bytes(timestamp, body), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    body: bytes,
    timestamp: str,
    header: str,
    *,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (docs/webhooks.md has the same in plain Python): a timestamp
    within `tolerance` seconds of now, and the signature recomputed over it and the raw body,
    compared in constant time."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostResult:
    ok: bool
    status_code: int | None
    error: str
    # True when retrying cannot help (the webhook was deleted): the row goes dead at once.
    permanent: bool = False


def _pinned_url(url: str, address: str) -> str:
    parts = urlsplit(url)
    ip_host = f"[{address}]" if ":" in address else address
    netloc = ip_host if parts.port is None else f"{ip_host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def post(*, url: str, secret: str, body: bytes, event: str) -> PostResult:
    """One signed POST; never raises for network or HTTP errors (they are results)."""
    try:
        scheme, host, addresses = resolve_checked(url)
    except UnsafeURL as exc:
        return PostResult(False, None, f"refused: {exc}")
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": urlsplit(url).netloc.rsplit("@", 1)[-1],
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        EVENT_HEADER: event,
    }
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    timeout = float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10.0))
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(
                _pinned_url(url, addresses[0]), content=body, headers=headers, extensions=extensions
            )
    except httpx.HTTPError as exc:
        return PostResult(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return PostResult(True, response.status_code, "")
    reason = "redirect not followed" if 300 <= response.status_code < 400 else "HTTP error"
    return PostResult(False, response.status_code, f"{reason} {response.status_code}")

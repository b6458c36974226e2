"""A local stand-in for pypistats.org/api: same routes, same bytes, same quirks.

It reproduces shared/upstream/pypistats-api-behaviour.md §1: names get only `.`/`_`
-> `-` (no lowercasing, no collapsing), `/recent` and `/overall` 404 where the
breakdowns answer `"data":[]`, `.title()` filters, exact `period`/`mirrors`
values, the first of repeated parameters, 404 on a trailing slash, text/html error
bodies, `application/json` with no charset, `/api` -> 308, per-endpoint fixed-window
rate limits (5/s and 30/min, on by default; switch off for benchmarks).

Datasets (packages_app.demo.data): "golden" is exactly the seed of golden-captures.txt
(with today = 2026-11-24 the answers equal the captures byte for byte); "synthetic"
(the default) serves deterministic, realistic series for every canonical name
except demo_data.NOT_FOUND_NAMES.

Switches, at start, at runtime through `POST /_control` (JSON) or the Python API:
fault modes (a status such as 429 with an optional Retry-After, or 500/503; a
delay; malformed JSON; a truncated body), optionally limited to some endpoints and
to a number of requests; the rate limit on/off; "advance today by N days", which
also corrects one past value (with_mirrors of today-3 gains CORRECTION_DELTA).
Every request is recorded (time, path, endpoint) so tests count calls at the server.

Loopback only: it binds 127.0.0.1 unless told otherwise, and is never meant to
face a network.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qs, unquote, urlsplit

from packages_app.api import wire
from packages_app.demo import data as demo_data

logger = logging.getLogger(__name__)

CORRECTION_DELTA = 13
_ROUTE = re.compile(r"\A/api/packages/([^/]+)/(recent|overall|python_major|python_minor|system)\Z")
_TYPES = {
    "recent": "recent_downloads",
    "overall": "overall_downloads",
    "python_major": "python_major_downloads",
    "python_minor": "python_minor_downloads",
    "system": "system_downloads",
}
_FILTER_PARAM = {"python_major": "version", "python_minor": "version", "system": "os"}
_REDIRECT_BODY = (
    "<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
    "<p>You should be redirected automatically to the target URL: "
    '<a href="{url}">{url}</a>. If not, click the link.\n'
)
_DOCS_BODY = (
    b"<!doctype html><html><head><title>PyPI Stats API (demo)</title></head><body>"
    b"<h1>PyPI Stats API</h1><p>Demo upstream serving synthetic data.</p></body></html>"
)
MALFORMED_BODY = b'{"data":[{"category":"with_mirrors","date":\n'
UPSTREAM_LIMITS = ((5, 1.0), (30, 60.0))
# stop() waits until serve_forever() next checks its shutdown flag, once per poll interval:
# socketserver's default of 0.5 s was paid by every test that starts a demo upstream.
_POLL_INTERVAL = 0.05


@dataclass
class Faults:
    """What goes wrong, and where. Empty `endpoints` means every endpoint."""

    status: int | None = None  # e.g. 429, 500, 503
    retry_after: str | None = None  # Retry-After header value sent with `status`
    delay: float = 0.0  # seconds before answering
    malformed: bool = False  # 200 with invalid JSON
    truncate: bool = False  # 200 whose body stops half way (connection closed)
    endpoints: list[str] = field(default_factory=list)
    times: int | None = None  # apply to this many matching requests, then stop (None = always)

    def active(self) -> bool:
        return bool(self.status or self.delay or self.malformed or self.truncate)


class FaultOptions(TypedDict, total=False):
    """Faults' fields, as set_faults() takes them (each defaults as in Faults)."""

    status: int | None
    retry_after: str | None
    delay: float
    malformed: bool
    truncate: bool
    endpoints: list[str]
    times: int | None


class DemoOptions(TypedDict, total=False):
    """DemoUpstream's arguments, for DemoUpstream.running()."""

    today: dt.date | None
    dataset: str
    rate_limit: bool
    host: str
    port: int
    faults: Faults | None


class DemoState(TypedDict):
    """What /_control answers: the switches now in force."""

    today: str  # ISO date
    dataset: str
    rate_limit: bool
    faults: dict[str, object]  # Faults' fields
    corrections: dict[str, int]  # ISO date -> with_mirrors added that day
    requests: int  # recorded so far


@dataclass(frozen=True)
class RecordedRequest:
    at: float  # time.time() when the request line was read
    method: str
    path: str
    endpoint: str | None
    status: int


class DemoUpstream:
    """The demo upstream server. Use `with DemoUpstream.running(...) as demo: demo.url`."""

    def __init__(
        self,
        *,
        today: dt.date | None = None,
        dataset: str = "synthetic",
        rate_limit: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        if dataset not in ("synthetic", "golden"):
            raise ValueError(f"unknown dataset {dataset!r}")
        self.today = today or dt.datetime.now(dt.UTC).date()
        self.dataset = dataset
        self.rate_limit = rate_limit
        self.faults = faults or Faults()
        self.corrections: dict[dt.date, int] = {}
        self._golden = demo_data.golden_series(self.today) if dataset == "golden" else {}
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, float], tuple[float, int]] = {}
        self._requests: list[RecordedRequest] = []
        self._server = _Server((host, port), _Handler)
        self._server.demo = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the API, as PYPISTATS_API_URL wants it (ends in /api)."""
        return f"http://{self.host}:{self.port}/api"

    def start(self) -> DemoUpstream:
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"demo-upstream-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop_listening(self) -> None:
        """Close the socket (after serve_forever returned in this thread)."""
        self._server.server_close()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @classmethod
    @contextlib.contextmanager
    def running(cls, **kwargs: Unpack[DemoOptions]) -> Iterator[DemoUpstream]:
        demo = cls(**kwargs).start()
        try:
            yield demo
        finally:
            demo.stop()

    # --- switches ----------------------------------------------------------------------------

    def set_faults(self, **kwargs: Unpack[FaultOptions]) -> None:
        with self._lock:
            self.faults = Faults(**kwargs)

    def clear_faults(self) -> None:
        self.set_faults()

    def set_rate_limit(self, enabled: bool) -> None:
        with self._lock:
            self.rate_limit = enabled
            self._windows.clear()

    def advance(self, days: int = 1) -> None:
        """Move today forward; each new day also corrects with_mirrors of (new today - 3)."""
        with self._lock:
            for _ in range(days):
                self.today += dt.timedelta(days=1)
                corrected = self.today - dt.timedelta(days=3)
                self.corrections[corrected] = self.corrections.get(corrected, 0) + CORRECTION_DELTA

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def control(self, command: dict[str, Any]) -> DemoState:
        """Apply a /_control command; return the state. Unknown keys are an error.

        `command` is the request's JSON object, unchecked (hence Any): each value is
        checked or converted here, and a bad one raises ValueError or TypeError (a 400).
        """
        allowed = {"faults", "rate_limit", "advance_days", "clear_requests"}
        unknown = set(command) - allowed
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        if "faults" in command:
            faults = command["faults"] or {}
            if not isinstance(faults, dict):
                raise ValueError("faults must be an object")
            self.set_faults(**faults)
        if "rate_limit" in command:
            self.set_rate_limit(bool(command["rate_limit"]))
        if command.get("advance_days"):
            self.advance(int(command["advance_days"]))
        if command.get("clear_requests"):
            self.clear_requests()
        return self.state()

    def state(self) -> DemoState:
        with self._lock:
            return {
                "today": self.today.isoformat(),
                "dataset": self.dataset,
                "rate_limit": self.rate_limit,
                "faults": asdict(self.faults),
                "corrections": {d.isoformat(): v for d, v in sorted(self.corrections.items())},
                "requests": len(self._requests),
            }

    # --- data --------------------------------------------------------------------------------

    def series(self, package: str, endpoint: str) -> list[demo_data.Row]:
        """Every row upstream's table holds for this (already upstream-normalised) name."""
        if self.dataset == "golden":
            rows = list(self._golden.get(package, {}).get(endpoint, []))
        elif demo_data.is_synthetic_name(package):
            rows = demo_data.synthetic_series(package, self.today)[endpoint]
        else:
            rows = []
        if endpoint == "overall" and self.corrections:
            rows = [
                (c, d, n + self.corrections[d])
                if c == "with_mirrors" and d in self.corrections
                else (c, d, n)
                for c, d, n in rows
            ]
        return rows

    def recent(self, package: str) -> dict[str, int]:
        rows = demo_data.recent_from_overall(self.series(package, "overall"), self.today)
        if self.dataset == "golden":
            rows = {**demo_data.GOLDEN_EXTRA_RECENT.get(package, {}), **rows}
        return rows

    # --- request handling ----------------------------------------------------------------------

    def _rate_limited(self, endpoint: str, now: float) -> bool:
        """Flask-Limiter's fixed windows, per endpoint; rejected hits count too."""
        if not self.rate_limit:
            return False
        limited = False
        for limit, period in UPSTREAM_LIMITS:
            start, count = self._windows.get((endpoint, period), (now, 0))
            if now - start >= period:
                start, count = now, 0
            count += 1
            self._windows[(endpoint, period)] = (start, count)
            limited = limited or count > limit
        return limited

    def _take_fault(self, endpoint: str | None) -> Faults | None:
        faults = self.faults
        if not faults.active() or endpoint is None:
            return None
        if faults.endpoints and endpoint not in faults.endpoints:
            return None
        if faults.times is not None:
            if faults.times <= 0:
                return None
            faults.times -= 1
        return faults

    def answer(self, method: str, raw_path: str, headers: dict[str, str]) -> _Answer:
        now = time.time()
        parts = urlsplit(raw_path)
        # Werkzeug decodes the path (so %2F becomes a separator) before routing.
        path = unquote(parts.path, errors="replace")
        query = parse_qs(parts.query, keep_blank_values=True)
        if path == "/_control":  # the switches' state; not counted, not rate limited
            return _Answer(200, "application/json", json.dumps(self.state()).encode())
        match = _ROUTE.match(path)
        endpoint = match.group(2) if match else None
        limit_key = endpoint or path
        with self._lock:
            limited = self._rate_limited(limit_key, now)
            fault = None if limited else self._take_fault(endpoint)
        if headers.get("x-forwarded-proto") == "http":
            location = f"https://{headers.get('host', self.host)}{raw_path}"
            answer = _Answer(301, wire.ERROR_CONTENT_TYPE, b"", {"Location": location})
        elif limited:
            answer = _Answer(429, wire.ERROR_CONTENT_TYPE, wire.error_body(429))
        elif fault is not None and fault.status:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            answer = _Answer(
                fault.status, wire.ERROR_CONTENT_TYPE, wire.error_body(fault.status), extra
            )
        else:
            answer = self._route(path, match, query, headers)
            if (
                fault is not None
                and answer.status == 200
                and answer.content_type == wire.CONTENT_TYPE
            ):
                if fault.malformed:
                    answer = _Answer(200, wire.CONTENT_TYPE, MALFORMED_BODY)
                elif fault.truncate:
                    answer.truncate = True
        if fault is not None:
            answer.delay = fault.delay
        with self._lock:
            self._requests.append(RecordedRequest(now, method, raw_path, endpoint, answer.status))
        return answer

    def _route(
        self,
        path: str,
        match: re.Match[str] | None,
        query: dict[str, list[str]],
        headers: dict[str, str],
    ) -> _Answer:
        if path == "/api":
            url = f"http://{headers.get('host', f'{self.host}:{self.port}')}/api/"
            body = _REDIRECT_BODY.format(url=url).encode()
            return _Answer(308, wire.ERROR_CONTENT_TYPE, body, {"Location": url})
        if path == "/api/":
            return _Answer(200, wire.ERROR_CONTENT_TYPE, _DOCS_BODY)
        if path in ("/health", "/_health/", "/status"):
            return _Answer(200, wire.ERROR_CONTENT_TYPE, b"OK")
        if match is None:
            return _Answer(404, wire.ERROR_CONTENT_TYPE, wire.error_body(404))
        raw_name, endpoint = match.group(1), match.group(2)
        # Upstream's whole normalisation: `.` and `_` become `-`, except for `__all__`.
        package = (
            raw_name
            if raw_name == demo_data.ALL_PACKAGES
            else raw_name.replace(".", "-").replace("_", "-")
        )

        def first(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        def ok(data: object) -> _Answer:
            return _Answer(
                200,
                wire.CONTENT_TYPE,
                wire.dumps({"data": data, "package": package, "type": _TYPES[endpoint]}),
            )

        not_found = _Answer(404, wire.ERROR_CONTENT_TYPE, wire.error_body(404))
        if endpoint == "recent":
            recent = self.recent(package)
            period = first("period")
            if period is None:
                if not recent:
                    return not_found
                return ok({f"last_{p}": recent.get(p, 0) for p in ("day", "week", "month")})
            if period not in ("day", "week", "month") or period not in recent:
                return not_found
            return ok({f"last_{period}": recent[period]})
        rows = self.series(package, endpoint)
        if endpoint == "overall":
            mirrors = first("mirrors")
            if mirrors == "true":
                rows = sorted((r for r in rows if r[0] == "with_mirrors"), key=lambda r: r[1])
            elif mirrors == "false":
                rows = sorted((r for r in rows if r[0] == "without_mirrors"), key=lambda r: r[1])
            else:
                rows = _sorted_rows(rows)
            if not rows:
                return not_found
        else:
            value = first(_FILTER_PARAM[endpoint])
            if value is None:
                rows = _sorted_rows(rows)
            else:
                wanted = value.title()
                rows = sorted((r for r in rows if r[0] == wanted), key=lambda r: r[1])
        return ok([{"category": c, "date": d.isoformat(), "downloads": n} for c, d, n in rows])


def _sorted_rows(rows: list[demo_data.Row]) -> list[demo_data.Row]:
    # Upstream's order (category casefolded, then date); a date object sorts as its ISO
    # text does (four-digit years), without formatting ~3,600 dates per answer.
    return sorted(rows, key=lambda r: (r[0].casefold(), r[1]))


@dataclass
class _Answer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    truncate: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    demo: DemoUpstream


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like gunicorn behind a proxy
    # Headers and body go out in separate writes: with Nagle's algorithm on, the body
    # waits for the client's delayed ACK (~40 ms on Linux) on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("demo upstream: " + format, *args)

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _send(self, answer: _Answer, *, head: bool = False) -> None:
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if head:
            return
        if answer.truncate:
            self.wfile.write(answer.body[: max(len(answer.body) // 2, 1)])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(answer.body)

    def do_GET(self) -> None:
        self._send(self.server.demo.answer("GET", self.path, self._headers()))

    def do_HEAD(self) -> None:
        self._send(self.server.demo.answer("HEAD", self.path, self._headers()), head=True)

    def do_OPTIONS(self) -> None:
        self.send_response(200)
        self.send_header("Allow", "HEAD, OPTIONS, GET")
        self.send_header("Content-Type", wire.ERROR_CONTENT_TYPE)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        demo = self.server.demo
        if urlsplit(self.path).path != "/_control":
            self._send(_Answer(405, wire.ERROR_CONTENT_TYPE, wire.error_body(405)))
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            command = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(command, dict):
                raise ValueError("the command must be a JSON object")
            state = demo.control(command)
        except (ValueError, TypeError) as exc:
            body = json.dumps({"error": str(exc)}).encode()
            self._send(_Answer(400, "application/json", body))
            return
        self._send(_Answer(200, "application/json", json.dumps(state).encode()))

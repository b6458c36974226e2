"""The JSON API's WSGI fast path (packages_app/api/fastpath.py) answers exactly as Django does.

Every comparison calls two real WSGI callables with the same environ: Django's own
WSGIHandler (the reference: middleware, view, everything) and the fast path wrapped around
another WSGIHandler, which records whether the fast path handed the request over. Status
line, every header in order, and body must be identical; and the tests check which of the
two answered, so a fast path that silently handed everything to Django would fail them.

The clock is frozen so that the rate-limit reset (seconds left in the window) is the same
for both; each side counts against its own client address, so their budgets match too.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

import pytest
import time_machine
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from pytest_django import Settings

from packages_app.api import fastpath as api_fastpath
from packages_app.models import Package
from tests.isolation import clear_cache, delete_prefixed
from tests.packages_app import golden
from tests.packages_app.api import wsgi_live
from tests.stored_points import overwrite_all

URL = "/api/packages/demo-pkg/python_minor"
NOW = dt.datetime(2026, 11, 24, 12, 0, 17, tzinfo=dt.UTC)
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Nothing listens on port 1: every cache call fails at once.
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
    }
}

Result = tuple[str, list[tuple[str, str]], bytes]


class Recorder:
    """A WSGI app that counts the requests it is handed (Django, behind the fast path)."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.calls = 0
        self.path_infos: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.calls += 1
        self.path_infos.append(environ["PATH_INFO"])
        return self.app(environ, start_response)


def environ_for(
    method: str, target: str, headers: dict[str, str] | None = None, ip: str = "10.0.0.1"
) -> dict[str, Any]:
    """What a WSGI server passes for `METHOD target`: PATH_INFO unquoted, as latin-1 text."""
    parts = urlsplit(target)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path).decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": ip,
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for key, value in (headers or {}).items():
        name = key.upper().replace("-", "_")
        environ[name if name in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{name}"] = value
    return environ


def call(app: Callable[..., Iterable[bytes]], environ: dict[str, Any]) -> Result:
    started: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        started["status"], started["headers"] = status, list(headers)

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return started["status"], started["headers"], body


class Pair:
    """Django's WSGIHandler and the fast path (in front of a WSGIHandler of its own)."""

    def __init__(self) -> None:
        self.django = WSGIHandler()
        self.behind = Recorder(WSGIHandler())
        self.fast = api_fastpath.wrap(self.behind)

    def compare(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        *,
        fast_answers: bool,
        environ: dict[str, Any] | None = None,
        fast_first: bool = False,
    ) -> Result:
        """One request to each; assert identical answers and who answered; return it."""
        extra = environ or {}
        before = self.behind.calls
        if fast_first:
            fast = call(self.fast, {**environ_for(method, target, headers, "10.0.0.2"), **extra})
        reference = call(self.django, {**environ_for(method, target, headers, "10.0.0.1"), **extra})
        if not fast_first:
            fast = call(self.fast, {**environ_for(method, target, headers, "10.0.0.2"), **extra})
        assert fast == reference, f"{method} {target} {headers}"
        handed_over = self.behind.calls - before
        assert handed_over == (0 if fast_answers else 1), f"{method} {target} {headers}"
        return fast


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """As Django's test client does: requests must not close the test's DB connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def pair(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> Pair:
    return Pair()


def _headers(result: Result) -> dict[str, str]:
    return dict(result[1])


# --- Hits, misses, HEAD, CORS ------------------------------------------------------------


TARGETS = [
    URL,
    URL + "?version=3.10",
    URL + "?version=3.10&version=3.9",
    URL + "?start_date=2026-01-01&end_date=2026-11-01",
    "/api/packages/demo-pkg/python_major?version=3",
    "/api/packages/demo-pkg/overall",
    "/api/packages/demo-pkg/overall?mirrors=true",
    "/api/packages/demo-pkg/system?os=linux",
    "/api/packages/demo-pkg/system?os=other",
    "/api/packages/demo-pkg/recent",
    "/api/packages/demo-pkg/recent?period=week",
    "/api/packages/demo-pkg/recent?period=year",  # 404 from a held package
    "/api/packages/Demo_Pkg/python_minor",  # PEP 503 name
    "/api/packages/old-only/overall",  # nothing in the window: 404
]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", TARGETS)
def test_miss_then_hit_identical(pair: Pair, method: str, target: str) -> None:
    clear_cache()
    miss = pair.compare(method, target, fast_answers=True, fast_first=True)  # the fast path's miss
    clear_cache()
    pair.compare(method, target, fast_answers=True)  # Django's miss, the fast path's hit
    hit = pair.compare(method, target, fast_answers=True)  # both read the cache
    assert hit[0] == miss[0] and hit[2] == miss[2]
    if method == "HEAD":
        assert hit[2] == b""
        assert int(_headers(hit)["Content-Length"]) > 0


def test_a_hit_carries_every_header_django_adds(pair: Pair) -> None:
    pair.compare("GET", URL, fast_answers=True)
    status, headers, body = pair.compare("GET", URL, fast_answers=True)
    names = [name for name, _ in headers]
    assert status == "200 OK"
    assert names == [
        "Content-Type",
        "ETag",
        "Last-Modified",
        "Cache-Control",
        "Vary",
        "Access-Control-Allow-Origin",
        "Access-Control-Expose-Headers",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-Frame-Options",
        "Content-Length",
        "Content-Security-Policy",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
    ]
    assert _headers((status, headers, body))["Content-Length"] == str(len(body))


def test_cors_request(pair: Pair) -> None:
    origin = {"Origin": "https://example.org"}
    pair.compare("GET", URL, origin, fast_answers=True)
    result = pair.compare("GET", URL, origin, fast_answers=True)
    assert _headers(result)["Access-Control-Allow-Origin"] == "*"


# --- Conditional GET ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_304s_identical(pair: Pair, method: str) -> None:
    tag = _headers(pair.compare("GET", URL, fast_answers=True))["ETag"]
    for headers in (
        {"If-None-Match": tag},
        {"If-None-Match": f'"x", W/{tag}'},
        {"If-None-Match": "*"},
        {"If-Modified-Since": "Tue, 24 Nov 2026 03:00:00 GMT"},
    ):
        status, _, body = pair.compare(method, URL, headers, fast_answers=True)
        assert status == "304 Not Modified" and body == b""
    for headers in ({"If-None-Match": '"other"'}, {"If-Modified-Since": "garbage"}):
        status, _, _ = pair.compare(method, URL, headers, fast_answers=True)
        assert status == "200 OK"


def test_recent_304(pair: Pair) -> None:
    target = "/api/packages/demo-pkg/recent"
    tag = _headers(pair.compare("GET", target, fast_answers=True))["ETag"]
    status, _, _ = pair.compare("GET", target, {"If-None-Match": tag}, fast_answers=True)
    assert status == "304 Not Modified"


# --- Refreshes -----------------------------------------------------------------------------


def test_refresh_between_requests(pair: Pair, seeded: dict[str, Package]) -> None:
    package = seeded["demo-pkg"]
    tag = _headers(pair.compare("GET", URL, fast_answers=True))["ETag"]
    _, _, before = pair.compare("GET", URL, fast_answers=True)  # cached
    # What a committed refresh does: new points, data_version bumped.
    overwrite_all(package, 424242)
    golden.bump(package)
    status, headers, after = pair.compare("GET", URL, {"If-None-Match": tag}, fast_answers=True)
    assert status == "200 OK" and after != before and b"424242" in after
    assert dict(headers)["ETag"] != tag
    # The new answer is cached under the new version; the old tag no longer matches.
    assert pair.compare("GET", URL, fast_answers=True)[2] == after


def test_the_etl_date_moving_on_changes_both_answers_alike(
    pair: Pair, seeded: dict[str, Package]
) -> None:
    """The default window ends at the ETL date (any package's latest date): when another
    package's refresh moves it on, a package whose own data_version did not change answers
    the new window, on both paths, with a new ETag (the cache key carries the ETL date)."""
    target = "/api/packages/zope-interface/overall"
    tag = _headers(pair.compare("GET", target, fast_answers=True))["ETag"]
    _, _, before = pair.compare("GET", target, fast_answers=True)  # cached
    assert b"2026-11-23" in before
    demo_pkg = seeded["demo-pkg"]
    Package.objects.filter(pk=demo_pkg.pk).update(latest_date=golden.D + dt.timedelta(days=181))
    golden.bump(demo_pkg)
    status, headers, after = pair.compare("GET", target, {"If-None-Match": tag}, fast_answers=True)
    # zope-interface's only day (D) is now older than the horizon: nothing left, 404.
    assert (status, after) == ("404 Not Found", b"404")
    assert dict(headers)["ETag"] != tag


# --- Rate limit ----------------------------------------------------------------------------


def test_429s_identical(pair: Pair, settings: Settings) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    tag = _headers(pair.compare("GET", URL, fast_answers=True))["ETag"]
    pair.compare("HEAD", URL, fast_answers=True)
    pair.compare("GET", URL, {"If-None-Match": tag}, fast_answers=True)  # 304, remaining 0
    for method, headers in (("GET", {}), ("HEAD", {}), ("GET", {"If-None-Match": tag})):
        status, result_headers, body = pair.compare(method, URL, headers, fast_answers=True)
        assert status == "429 Too Many Requests"
        assert dict(result_headers)["Retry-After"] == dict(result_headers)["X-RateLimit-Reset"]
        assert body == (
            b"" if method == "HEAD" else b'<a href="/api/#etiquette">429 RATE LIMIT EXCEEDED</a>'
        )
    # Requests Django answers share the budget the fast path counted.
    status, _, _ = pair.compare("GET", "/api/packages/nosuchpkg/recent", fast_answers=False)
    assert status == "429 Too Many Requests"


def test_rate_limit_off(pair: Pair, settings: Settings) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 0
    pair.compare("GET", URL, fast_answers=True)
    result = pair.compare("GET", URL, fast_answers=True)
    assert "X-RateLimit-Limit" not in _headers(result)


def test_rate_limit_behind_a_proxy(pair: Pair, settings: Settings) -> None:
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    settings.AXES_IPWARE_PROXY_COUNT = 1
    # One proxy (the same peer) for both: each side's forwarded client has its own budget.
    for expected in ("200 OK", "429 Too Many Requests"):
        reference = call(
            pair.django, environ_for("GET", URL, {"X-Forwarded-For": "203.0.113.1"}, "10.9.9.9")
        )
        fast = call(
            pair.fast, environ_for("GET", URL, {"X-Forwarded-For": "203.0.113.2"}, "10.9.9.9")
        )
        assert fast == reference and fast[0] == expected
    assert pair.behind.calls == 0


# --- A cache that is down ------------------------------------------------------------------


def test_redis_down_answers_from_the_store(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.CACHES = DEAD_REDIS
    settings.REDIS_URL = DEAD_REDIS["default"]["LOCATION"]  # the API's own client too
    pair = Pair()
    for method, target in (("GET", URL), ("HEAD", URL), ("GET", "/api/packages/demo-pkg/overall")):
        status, headers, _ = pair.compare(method, target, fast_answers=True)
        assert status == "200 OK"
        assert dict(headers)["X-RateLimit-Remaining"] == dict(headers)["X-RateLimit-Limit"]
    tag = _headers(pair.compare("GET", URL, fast_answers=True))["ETag"]
    status, _, _ = pair.compare("GET", URL, {"If-None-Match": tag}, fast_answers=True)
    assert status == "304 Not Modified"


# --- What Django answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [
        ("GET", "/api/packages/nosuchpkg/overall", {}),  # not held: 404
        ("GET", "/api/packages/nosuchpkg/python_minor", {}),  # not held: empty data
        ("GET", "/api/packages/demo-pkg/overall?start_date=2026-13-01", {}),  # 400
        ("GET", "/api/packages/-bad-/overall", {}),  # not a name: 404
        ("GET", "/api/packages/demo-pkg/overall/", {}),  # trailing slash
        ("GET", "/api/packages/demo-pkg/downloads", {}),  # no such endpoint
        ("GET", "/api/packages/%C3%BC/python_major", {}),  # non-ASCII
        ("GET", "/api/packages/%F0%9F%90%8D/recent", {}),  # beyond latin-1 once decoded
        ("GET", "/api/packages/%C3%A9%FF/recent", {}),  # not UTF-8
        ("POST", URL, {}),
        ("OPTIONS", URL, {"Origin": "https://example.org"}),
        ("GET", "/api", {}),  # 308 to /api/
        ("GET", "/api/openapi.yml", {}),
        ("GET", URL, {"Host": "evil.example"}),  # DisallowedHost: Django's 400
        ("GET", "/api/packages/demo%00pkg/overall", {}),  # a NUL: the API's own text 404
    ],
)
def test_handed_to_django(pair: Pair, method: str, target: str, headers: dict[str, str]) -> None:
    pair.compare(method, target, headers, fast_answers=False)


def test_django_gets_the_environ_untouched(pair: Pair) -> None:
    """WSGIRequest rewrites PATH_INFO in its environ: the fast path must not pass that on."""
    for target in ("/api/packages/%F0%9F%90%8D/recent", "/api/packages/nosuchpkg/recent"):
        environ = environ_for("GET", target)
        before = dict(environ)
        status, _, _ = call(pair.fast, environ)
        assert status == "404 Not Found"
        # (Django's own WSGIRequest then rewrites it, as it always does.)
        assert pair.behind.path_infos[-1] == before["PATH_INFO"]


def test_a_fast_path_failure_is_handed_to_django(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> bool:
        raise RuntimeError("a bug in the fast path")

    monkeypatch.setattr(pair.fast.middleware, "intercepts", broken)
    status, _, _ = pair.compare("GET", URL, fast_answers=False)
    assert status == "200 OK"


def test_https_redirect_left_to_django(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    pair = Pair()
    status, headers, _ = pair.compare("GET", URL, fast_answers=False)
    assert status == "301 Moved Permanently"
    assert dict(headers)["Location"] == "https://127.0.0.1:8000" + URL


def test_hsts_on_a_secure_request(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    pair = Pair()
    secure = {"wsgi.url_scheme": "https"}
    pair.compare("GET", URL, fast_answers=True, environ=secure)
    status, headers, _ = pair.compare("GET", URL, fast_answers=True, environ=secure)
    assert status == "200 OK"
    assert dict(headers)["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )


def test_other_security_settings_follow(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.X_FRAME_OPTIONS = "sameorigin"
    settings.SECURE_REFERRER_POLICY = ["no-referrer", "strict-origin"]
    settings.SECURE_CROSS_ORIGIN_OPENER_POLICY = None
    settings.SECURE_CSP_REPORT_ONLY = {"default-src": ["'none'"]}
    pair = Pair()
    for _ in range(2):
        status, headers, _ = pair.compare("GET", URL, fast_answers=True)
    assert dict(headers)["Content-Security-Policy-Report-Only"] == "default-src 'none'"


def test_unknown_middleware_turns_the_fast_path_off(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    pair = Pair()
    assert not pair.fast.enabled
    pair.compare("GET", URL, fast_answers=False)


def test_setting_turns_the_fast_path_off(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.API_FAST_PATH = False
    pair = Pair()
    pair.compare("GET", URL, fast_answers=False)


def test_switching_itself_off_is_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "django.middleware.gzip.GZipMiddleware"]
    with caplog.at_level(logging.INFO, logger="packages_app.api.fastpath"):
        assert not api_fastpath.wrap(WSGIHandler()).enabled
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "django.middleware.gzip.GZipMiddleware" in record.getMessage()
    # Turned off on purpose by the operator: said, but not a warning.
    caplog.clear()
    settings.API_FAST_PATH = False
    with caplog.at_level(logging.INFO, logger="packages_app.api.fastpath"):
        assert not api_fastpath.wrap(WSGIHandler()).enabled
    assert [r.levelno for r in caplog.records] == [logging.INFO]


def test_the_middleware_order_comes_from_settings(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    """MIDDLEWARE reordered: Django's headers come in another order, and so do the fast path's."""
    stack = list(settings.MIDDLEWARE)
    for moved in (
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "django.middleware.common.CommonMiddleware",
    ):
        stack.remove(moved)
        stack.insert(0, moved)
    settings.MIDDLEWARE = stack
    pair = Pair()
    assert pair.fast.enabled
    for method in ("GET", "HEAD", "GET"):
        _, headers, _ = pair.compare(method, URL, fast_answers=True)
    names = [name for name, _ in headers]
    # Responses pass the middleware last to first: now CSP, X-Frame-Options, Content-Length
    # (with the shipped order: X-Frame-Options, Content-Length, CSP).
    assert (
        names.index("Content-Security-Policy")
        < names.index("X-Frame-Options")
        < names.index("Content-Length")
    )


def test_the_route_comes_from_the_urlconf(
    seeded: dict[str, Package], frozen: None, in_test_transaction: None, settings: Settings
) -> None:
    settings.ROOT_URLCONF = "tests.packages_app.api.urls_api_elsewhere"
    pair = Pair()
    status, _, body = pair.compare("GET", "/v2/packages/demo-pkg/overall", fast_answers=True)
    assert status == "200 OK" and body.startswith(b'{"data":[')
    pair.compare("GET", "/v2/packages/demo-pkg/overall", fast_answers=True)
    pair.compare("GET", URL, fast_answers=False)  # no API there any more: Django's 404 page


def test_a_urlconf_routing_elsewhere_turns_the_fast_path_off(
    seeded: dict[str, Package],
    frozen: None,
    in_test_transaction: None,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings.ROOT_URLCONF = "tests.packages_app.api.urls_api_shadowed"
    with caplog.at_level(logging.WARNING, logger="packages_app.api.fastpath"):
        pair = Pair()
    assert not pair.fast.enabled
    assert "/api/packages/pip/recent" in caplog.text
    status, _, body = pair.compare("GET", URL, fast_answers=False)
    assert body == b"not the API"


def test_every_golden_capture_identical(pair: Pair) -> None:
    """Upstream's recorded requests (hits, misses, 404s, odd parameters) through both apps."""
    for capture in golden.captures():
        if capture.target in ("/health", "/status"):
            continue  # not API routes: Django's HTML 404 page, with a fresh CSP nonce each time
        for _ in range(2):  # the second time, from the cache where there is one
            reference = call(pair.django, environ_for(capture.method, capture.target))
            fast = call(pair.fast, environ_for(capture.method, capture.target, ip="10.0.0.2"))
            assert fast == reference, capture.target


def test_the_deployed_callable_is_the_fast_path() -> None:
    from pypistats_site import wsgi

    assert isinstance(wsgi.application, api_fastpath.FastPath)
    assert wsgi.application.app is wsgi._django


# --- Over HTTP, with a real server and real connections ------------------------------------


@pytest.fixture
def served(transactional_db: None, settings: Settings) -> Iterator[tuple[str, str]]:
    """The fast path and plain Django, each behind its own loopback HTTP server thread
    (transactional_db: request_started/request_finished run as in production)."""
    golden.load_seed()
    with (
        wsgi_live.serving(api_fastpath.wrap(WSGIHandler())) as fast,
        wsgi_live.serving(WSGIHandler()) as django,
    ):
        yield fast, django


def test_over_http(served: tuple[str, str], settings: Settings) -> None:
    import httpx

    fast_url, django_url = served
    with (
        time_machine.travel(NOW, tick=False),
        httpx.Client(base_url=fast_url) as fast,
        httpx.Client(base_url=django_url) as django,
    ):
        # The fast side counts first against the same client (127.0.0.1), so compare budgets
        # separately: everything else must be identical.
        for target in (URL, URL, "/api/packages/demo-pkg/overall?mirrors=false", URL + "?x=1"):
            for method in ("GET", "HEAD"):
                a = fast.request(method, target)
                b = django.request(method, target)
                assert a.status_code == b.status_code == 200
                assert a.content == b.content
                ha = [
                    (k, v)
                    for k, v in a.headers.items()
                    if k not in ("date", "x-ratelimit-remaining")
                ]
                hb = [
                    (k, v)
                    for k, v in b.headers.items()
                    if k not in ("date", "x-ratelimit-remaining")
                ]
                assert ha == hb
                assert int(a.headers["x-ratelimit-remaining"]) - 1 == int(
                    b.headers["x-ratelimit-remaining"]
                )
        tag = fast.get(URL).headers["etag"]
        assert fast.get(URL, headers={"If-None-Match": tag}).status_code == 304
        golden.bump(Package.objects.get(name="demo-pkg"))
        assert fast.get(URL, headers={"If-None-Match": tag}).status_code == 200


# --- The shipped server command: granian, as the Dockerfile runs it ------------------------

ROOT = Path(__file__).resolve().parents[3]


def _shipped_command(port: int) -> list[str]:
    """The Dockerfile's CMD, on 127.0.0.1:<port>, with this venv's granian."""
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match is not None
    command: list[str] = json.loads(match.group(1))
    assert command[:3] == ["granian", "--interface", "wsgi"]
    command[0] = str(Path(sys.executable).parent / "granian")
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    return command


GRANIAN_PREFIX = "pss-granian-test"


@pytest.mark.stack  # starts granian as the Dockerfile does
@pytest.mark.postgres
@pytest.mark.redis
def test_the_shipped_granian_command_answers_as_django(
    transactional_db: None, settings: Settings
) -> None:
    """granian (separate processes, their own connections) against the test database, compared
    with Django's handler in this process: same statuses, header values and bodies. Header
    names are compared case-insensitively (granian writes them in lower case), and Date,
    Server and the rate-limit reset (another process's clock second) are left out; so is
    a 304's Content-Length, which granian drops."""
    import httpx

    golden.load_seed()
    db = settings.DATABASES["default"]
    auth = quote(db["USER"]) + (f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "HTTPS": "0",
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CACHE_KEY_PREFIX": GRANIAN_PREFIX,
    }
    # Its rate-limit counter must start at zero, as Django's (this process's cache is
    # emptied before every test); nothing else clears another process's keys.
    delete_prefixed(os.environ["REDIS_URL"], GRANIAN_PREFIX)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        _shipped_command(port),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own process group: a kill must reach the workers too (killing the main
        # process alone left a worker behind, holding its port, after the run).
        start_new_session=True,
    )
    django = WSGIHandler()
    try:
        # httpx asks for gzip by default: each request below says what it takes.
        plain = {"Accept-Encoding": "identity"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5, headers=plain) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "granian did not start"
                time.sleep(0.2)
            tag = None
            for method, target, headers in [
                ("GET", URL, {}),  # a miss
                ("GET", URL, {}),  # a hit
                ("HEAD", URL, {}),
                ("GET", URL, {"If-None-Match": "<tag>"}),
                ("GET", "/api/packages/demo-pkg/recent", {}),
                ("GET", "/api/packages/nosuchpkg/overall", {}),  # Django's
                ("GET", URL, {"Accept-Encoding": "gzip"}),  # compressed, stored
                ("GET", URL, {"Accept-Encoding": "gzip"}),  # the gzip entry
                ("GET", URL, {"Accept-Encoding": "gzip", "If-None-Match": "<tag>"}),
            ]:
                if tag is not None:
                    headers = {k: v.replace("<tag>", tag) for k, v in headers.items()}
                ours = client.request(method, target, headers=headers)
                status, reference_headers, body = call(
                    django, environ_for(method, target, {**plain, **headers}, "10.7.7.7")
                )
                assert f"{ours.status_code} {ours.reason_phrase}" == status
                if ours.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)  # httpx gunzipped ours
                assert ours.content == body
                skip = {"date", "server", "x-ratelimit-reset"}
                if ours.status_code == 304:
                    # granian (hyper) drops Django's `Content-Length: 0` from a 304, whoever
                    # answered: RFC 9110 8.6 allows it there only as the 200's length.
                    assert "content-length" not in ours.headers
                    skip.add("content-length")
                assert [(k, v) for k, v in ours.headers.items() if k not in skip] == [
                    (k.lower(), v) for k, v in reference_headers if k.lower() not in skip
                ]
                assert 1 <= int(ours.headers["x-ratelimit-reset"]) <= 60
                tag = tag or ours.headers["etag"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            # granian's graceful stop has been seen to take over 30 s here (its workers'
            # keep-alive connections); this test is about its answers, not its shutdown,
            # and a container runtime kills it after its own grace period too.
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        delete_prefixed(os.environ["REDIS_URL"], GRANIAN_PREFIX)


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", TARGETS)
def test_gzip_answers_identical_on_both_paths(pair: Pair, method: str, target: str) -> None:
    """A client taking gzip gets the same bytes and headers from the fast path as from Django,
    on a miss (compressed then) and on a hit (the gzip entry), gunzipping to the plain body."""
    clear_cache()
    plain = pair.compare(method, target, fast_answers=True)
    gzip_headers = {"Accept-Encoding": "gzip"}
    clear_cache()
    miss = pair.compare(method, target, gzip_headers, fast_answers=True, fast_first=True)
    hit = pair.compare(method, target, gzip_headers, fast_answers=True)
    assert hit[0] == miss[0] and hit[2] == miss[2]
    headers = _headers(hit)
    assert headers["Vary"] == "Accept-Encoding"
    if method == "GET" and headers.get("Content-Encoding") == "gzip":
        assert gzip.decompress(hit[2]) == plain[2]
        assert headers["ETag"] == "W/" + _headers(plain)["ETag"]
    elif method == "GET":
        assert hit[2] == plain[2]

"""A WSGI-level fast path for the compatible JSON API (docs/decisions.md, "JSON API: a
WSGI fast path in front of Django").

`wrap(django_app)` returns a WSGI callable that answers GET/HEAD
`/api/packages/<name>/<endpoint>` for a package we hold without Django's request
handling: no middleware chain, no HttpResponse, no request_started/request_finished
signals (so no `CONN_HEALTH_CHECKS` SELECT 1 per request). The answer itself comes
from the same code as the view (api.lookup + api.answer_held: the same parsing, the
same data_version lookup, the same rate-limit counter and cache round trip, the same
bytes); this module only adds, as plain tuples, the headers that the view's _finish
and Django's middleware would add, in the order they would add them.

Everything else goes to Django untouched, which stays the reference behaviour: other
methods and paths, bad input (4xx), unknown packages, a Host Django would refuse, a
request Django would redirect to https, any exception before the request is counted.
The fast path turns itself off (everything goes to Django) when the middleware stack
or a setting it reproduces is not the one it knows, or with API_FAST_PATH=0.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, connection
from django.utils.csp import CSP, build_policy
from django.utils.log import log_message, request_logger

from . import api, ratelimit

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

# The one route the fast path answers (api_urls "endpoint", under "api/" in the root URLconf).
ROUTE = re.compile(
    r"/api/packages/(?P<name>[^/]+)/(?P<endpoint>recent|overall|python_major|python_minor|system)\Z"
)
PREFIX = "/api/packages/"

# The middleware stack whose effect on an API answer headers() reproduces. The view is
# csrf_exempt and touches neither the session, the user, messages nor htmx, so those add
# nothing; axes only acts on a login lockout. Any other stack: the fast path is off.
KNOWN_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
)

_PHRASES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


def disabled_reason() -> str | None:
    """Why the fast path cannot promise Django's answer with these settings (None: it can)."""
    if not getattr(settings, "API_FAST_PATH", True):
        return "API_FAST_PATH is off"
    if tuple(settings.MIDDLEWARE) != KNOWN_MIDDLEWARE:
        return "MIDDLEWARE is not the stack the fast path reproduces"
    if settings.DISALLOWED_USER_AGENTS or settings.PREPEND_WWW:
        return "CommonMiddleware would act on the request (DISALLOWED_USER_AGENTS/PREPEND_WWW)"
    if settings.SECURE_SSL_HOST:
        return "SECURE_SSL_HOST is set"
    return None


class MiddlewareHeaders:
    """What Django's middleware adds to an API answer, computed once (as Django's
    middleware reads its settings once, when the handler is built)."""

    def __init__(self) -> None:
        self.ssl_redirect = bool(settings.SECURE_SSL_REDIRECT)
        self.redirect_exempt = [re.compile(r) for r in settings.SECURE_REDIRECT_EXEMPT]
        # XFrameOptionsMiddleware
        self.x_frame = ("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper())
        # ContentSecurityPolicyMiddleware: the view never reads the nonce, so none is rendered.
        configs: tuple[tuple[str, Any], ...] = (
            (CSP.HEADER_ENFORCE, settings.SECURE_CSP),
            (CSP.HEADER_REPORT_ONLY, settings.SECURE_CSP_REPORT_ONLY),
        )
        self.csp = [
            (str(header), build_policy(config, None)) for header, config in configs if config
        ]
        # SecurityMiddleware
        self.sts: tuple[str, str] | None = None
        if settings.SECURE_HSTS_SECONDS:
            value = f"max-age={settings.SECURE_HSTS_SECONDS}"
            if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
                value += "; includeSubDomains"
            if settings.SECURE_HSTS_PRELOAD:
                value += "; preload"
            self.sts = ("Strict-Transport-Security", value)
        security = []
        if settings.SECURE_CONTENT_TYPE_NOSNIFF:
            security.append(("X-Content-Type-Options", "nosniff"))
        policy = settings.SECURE_REFERRER_POLICY
        if policy:
            values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
            security.append(("Referrer-Policy", ",".join(values)))
        if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
            security.append(
                ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY)
            )
        self.security = security

    def redirects(self, request: WSGIRequest) -> bool:
        """SecurityMiddleware would answer with a redirect to https."""
        if not self.ssl_redirect or request.is_secure():
            return False
        path = request.path.lstrip("/")
        return not any(pattern.search(path) for pattern in self.redirect_exempt)

    def headers(
        self, request: WSGIRequest, reply: api.Reply, verdict: ratelimit.Verdict | None
    ) -> tuple[list[tuple[str, str]], bytes]:
        """The view's _finish, then the middleware's process_response in Django's order."""
        headers = [("Content-Type", reply.content_type), *reply.headers]
        # api._finish: CORS, the rate-limit headers, HEAD's length without a body.
        headers.append(("Access-Control-Allow-Origin", "*"))
        headers.append(("Access-Control-Expose-Headers", api.EXPOSED_HEADERS))
        if verdict is not None:
            headers.extend(verdict.headers().items())
        body = reply.body
        head = request.method == "HEAD"
        if head:
            headers.append(("Content-Length", str(len(body))))
            body = b""
        headers.append(self.x_frame)  # XFrameOptionsMiddleware
        if not head:
            headers.append(("Content-Length", str(len(body))))  # CommonMiddleware
        headers.extend(self.csp)  # ContentSecurityPolicyMiddleware
        if self.sts is not None and request.is_secure():  # SecurityMiddleware
            headers.append(self.sts)
        headers.extend(self.security)
        return headers, body


class FastPath:
    """The WSGI callable: the fast path in front of `app` (Django's WSGIHandler)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        reason = disabled_reason()
        self.enabled = reason is None
        if reason is not None:
            log.info("API fast path off: %s", reason)
        self.middleware = MiddlewareHeaders()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            self.enabled
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and environ.get("PATH_INFO", "").startswith(PREFIX)
        ):
            try:
                answered = self.answer(environ)
            except Exception:
                # Nothing was counted (answer() catches what happens after counting).
                log.exception("API fast path failed; Django answers")
                answered = None
            if answered is not None:
                status, headers, body = answered
                start_response(status, headers)
                return [body]
        return self.app(environ, start_response)

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The full answer, or None to let Django answer the request."""
        # A copy: WSGIRequest writes the decoded PATH_INFO back into its environ, and Django
        # must get the server's environ untouched when the request goes to it.
        request = WSGIRequest(environ.copy())
        match = ROUTE.match(request.path_info)
        if match is None or self.middleware.redirects(request):
            return None
        try:
            request.get_host()  # CommonMiddleware answers 400 to a Host not allowed
            query = api.parse_query(request, match["name"], match["endpoint"])
        except (DisallowedHost, api.BadRequest):
            return None
        _expire_connection()
        try:
            meta, recent = api.lookup(query)
        except DatabaseError as exc:
            # Django's request_started handler (close_old_connections) will check or
            # replace the connection; the view then answers as it always does.
            log.warning("API fast path: database error, Django answers: %s", exc)
            return None
        if meta is None:
            return None  # unknown package: 404 or empty data, maybe tracked; the view's job
        # From here the request is counted: answer it here, whatever it is.
        try:
            reply, verdict = api.answer_held(
                request, query, meta, recent, ratelimit.counter(request)
            )
        except Exception:
            # Counted once already; Django's answer will count it again (only ever on a
            # failure, e.g. the database going away between the two statements).
            log.exception("API fast path failed after counting; Django answers")
            return None
        headers, body = self.middleware.headers(request, reply, verdict)
        status = _PHRASES[reply.status]
        if reply.status >= 400:
            # As Django's get_response logs every 4xx/5xx answer (django.request).
            log_message(
                request_logger,
                "%s: %s",
                status[4:],
                request.path,
                status_code=reply.status,
                request=request,
            )
        return status, headers, body


def _expire_connection() -> None:
    """CONN_MAX_AGE without CONN_HEALTH_CHECKS' SELECT 1: close a connection past its age.

    Django does this (and the health check) in request_started/request_finished, which the
    fast path does not send. A connection that broke is found by the query failing: the
    request then goes to Django, whose request_started replaces the connection.
    """
    close_at = connection.close_at
    if close_at is not None and time.monotonic() >= close_at and not connection.in_atomic_block:
        connection.close()


def wrap(app: WSGIApp) -> FastPath:
    return FastPath(app)

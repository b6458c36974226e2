"""A WSGI-level fast path for the compatible JSON API (docs/decisions.md, "API fast path").

`wrap(django_app)` returns a WSGI callable that answers GET/HEAD
`/api/packages/<name>/<endpoint>` for a package we hold without Django's request
handling: no middleware chain, no URL resolution, no HttpResponse, no
request_started/request_finished signals (so no `CONN_HEALTH_CHECKS` SELECT 1 per request).
It halves the server's CPU time per answer (docs/benchmarks.md, "API fast path on realistic
answers"). The answer itself comes from the same code as the view (api.lookup +
api.answer_held: the same parsing, the same data_version lookup, the same rate-limit counter
and cache round trip, the same bytes); this module only adds, as plain tuples, the headers
that the view's _finish and Django's middleware would add, in the order they would add them.

Nothing here is a second copy of the project's configuration:
- the route is api/urls.py's ENDPOINT_ROUTE under the prefix where the root URLconf mounts
  the API (`reverse`), checked at start against Django's own resolver;
- the headers follow MIDDLEWARE itself, in its order: for each middleware, MIDDLEWARE_EFFECTS
  says what it does to an API answer with the current settings. A middleware it has no entry
  for, or a setting under which one would act in a way it does not reproduce, turns the fast
  path off, logged at WARNING: everything then goes through Django.

Everything else goes to Django untouched, which stays the reference behaviour: other
methods and paths, bad input (4xx), unknown packages, a Host Django would refuse, a
request Django would redirect to https, any exception before the request is counted.
API_FAST_PATH=0 also sends everything to Django.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.db import DatabaseError, connection
from django.urls import resolve, reverse
from django.utils.csp import CSP, build_policy
from django.utils.log import log_message, request_logger

from packages_app.api import ratelimit
from packages_app.api import urls as api_urls
from packages_app.api import views as api
from pypistats_site import input_guard

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Headers = list[tuple[str, str]]

_PHRASES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


# --- What each middleware does to an API answer ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    """What one middleware does to a GET/HEAD asking for an API answer of a package we hold."""

    # True when the middleware would answer the request itself: Django must answer it.
    intercepts: Callable[[WSGIRequest], bool] | None = None
    # The headers it sets on the answer (given the request and the body sent), each only when
    # the answer does not carry it yet, as Django's middleware do.
    sets: Callable[[WSGIRequest, bytes], Headers] | None = None


NOTHING = Effect()


def _security() -> Effect | str:
    """SecurityMiddleware: the https redirect; HSTS on a secure request, then its headers."""
    if settings.SECURE_SSL_HOST:
        return "SECURE_SSL_HOST is set"
    exempt = [re.compile(r) for r in settings.SECURE_REDIRECT_EXEMPT]
    sts: tuple[str, str] | None = None
    if settings.SECURE_HSTS_SECONDS:
        value = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            value += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            value += "; preload"
        sts = ("Strict-Transport-Security", value)
    always: Headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        always.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        always.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        always.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))

    def redirects(request: WSGIRequest) -> bool:
        if request.is_secure():
            return False
        path = request.path.lstrip("/")
        return not any(pattern.search(path) for pattern in exempt)

    def sets(request: WSGIRequest, body: bytes) -> Headers:
        return [sts, *always] if sts is not None and request.is_secure() else always

    return Effect(redirects if settings.SECURE_SSL_REDIRECT else None, sets)


def _content_security_policy() -> Effect:
    """ContentSecurityPolicyMiddleware: the view never reads the nonce, so none is rendered."""
    configs: tuple[tuple[str, Any], ...] = (
        (CSP.HEADER_ENFORCE, settings.SECURE_CSP),
        (CSP.HEADER_REPORT_ONLY, settings.SECURE_CSP_REPORT_ONLY),
    )
    headers = [(str(header), build_policy(config, None)) for header, config in configs if config]
    return Effect(sets=lambda request, body: headers)


def _common() -> Effect | str:
    """CommonMiddleware: a Host not allowed is its 400; Content-Length when not set yet. (Its
    APPEND_SLASH redirect of a 404 never applies: an endpoint's path resolves as it is.)"""
    if settings.DISALLOWED_USER_AGENTS or settings.PREPEND_WWW:
        return "CommonMiddleware would act on the request (DISALLOWED_USER_AGENTS/PREPEND_WWW)"

    def refuses_host(request: WSGIRequest) -> bool:
        try:
            request.get_host()
        except DisallowedHost:
            return True
        return False

    return Effect(refuses_host, lambda request, body: [("Content-Length", str(len(body)))])


def _input_guard() -> Effect:
    """InputGuardMiddleware: its 400 for a NUL or lone surrogate in the path or query (it
    leaves the API's own paths to the API, so this never intercepts an API answer today)."""
    return Effect(intercepts=lambda request: input_guard.where_unusable(request) is not None)


def _x_frame_options() -> Effect:
    header = ("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper())
    return Effect(sets=lambda request, body: [header])


# Middleware path -> its Effect under the current settings (or why it cannot be reproduced).
# The ones that do NOTHING to an API answer: the view is csrf_exempt and touches neither the
# session, the user, messages nor htmx; whitenoise answers only static files; axes only turns
# a login lockout into its response.
MIDDLEWARE_EFFECTS: dict[str, Callable[[], Effect | str]] = {
    # Answers only GET /healthz, never an API path.
    "packages_app.health.LocalHealthCheckMiddleware": lambda: NOTHING,
    "django.middleware.security.SecurityMiddleware": _security,
    "django.middleware.csp.ContentSecurityPolicyMiddleware": _content_security_policy,
    "django.middleware.common.CommonMiddleware": _common,
    "pypistats_site.input_guard.InputGuardMiddleware": _input_guard,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": _x_frame_options,
    "whitenoise.middleware.WhiteNoiseMiddleware": lambda: NOTHING,
    "django.contrib.sessions.middleware.SessionMiddleware": lambda: NOTHING,
    "django.middleware.csrf.CsrfViewMiddleware": lambda: NOTHING,
    "django.contrib.auth.middleware.AuthenticationMiddleware": lambda: NOTHING,
    "django.contrib.messages.middleware.MessageMiddleware": lambda: NOTHING,
    "django_htmx.middleware.HtmxMiddleware": lambda: NOTHING,
    "axes.middleware.AxesMiddleware": lambda: NOTHING,
}


class Middleware:
    """settings.MIDDLEWARE's effect on an API answer, computed once (as Django's handler
    loads its middleware once)."""

    def __init__(self, effects: list[Effect]) -> None:
        self.checks = [e.intercepts for e in effects if e.intercepts is not None]
        # Django runs process_response from the last middleware to the first.
        self.setters = [e.sets for e in reversed(effects) if e.sets is not None]

    @classmethod
    def from_settings(cls) -> Middleware | str:
        effects = []
        for path in settings.MIDDLEWARE:
            factory = MIDDLEWARE_EFFECTS.get(path)
            if factory is None:
                return f"MIDDLEWARE has {path}, whose effect on an API answer it does not know"
            effect = factory()
            if isinstance(effect, str):
                return effect
            effects.append(effect)
        return cls(effects)

    def intercepts(self, request: WSGIRequest) -> bool:
        """A middleware would answer this request itself (a redirect to https, a 400)."""
        return any(check(request) for check in self.checks)

    def headers(
        self, request: WSGIRequest, reply: api.Reply, verdict: ratelimit.Verdict | None
    ) -> tuple[Headers, bytes]:
        """The view's _finish, then the middleware's process_response in Django's order."""
        headers = [("Content-Type", reply.content_type), *reply.headers]
        # api._finish: CORS, the rate-limit headers, HEAD's length without a body.
        headers.append(("Access-Control-Allow-Origin", "*"))
        headers.append(("Access-Control-Expose-Headers", api.EXPOSED_HEADERS))
        if verdict is not None:
            headers.extend(verdict.headers().items())
        body = reply.body
        if request.method == "HEAD":
            headers.append(("Content-Length", str(len(body))))
            body = b""
        present = {name.lower() for name, _ in headers}
        for setter in self.setters:
            for name, value in setter(request, body):
                if name.lower() not in present:
                    headers.append((name, value))
                    present.add(name.lower())
        return headers, body


# --- The route ------------------------------------------------------------------------------


def api_root() -> str:
    """Where the root URLconf mounts the API (api/urls.py serves its docs page at its root)."""
    return reverse("api:docs")


def endpoint_route(root: str) -> re.Pattern[str] | str:
    """api/urls.py's endpoint route under `root` (or why Django would route otherwise)."""
    route = re.compile(re.escape(root) + api_urls.ENDPOINT_ROUTE.removeprefix("^"))
    for endpoint in api.TYPES:
        url = reverse("api:endpoint", kwargs={"name": "pip", "endpoint": endpoint})
        if route.match(url) is None or resolve(url).func is not api.package_endpoint:
            return f"Django does not route {url} to the API view as the fast path would"
    return route


# --- The WSGI callable ----------------------------------------------------------------------


class FastPath:
    """The WSGI callable: the fast path in front of `app` (Django's WSGIHandler)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.enabled = False
        if not getattr(settings, "API_FAST_PATH", True):
            log.info("API fast path off: API_FAST_PATH is off")
            return
        root = api_root()
        middleware = Middleware.from_settings()
        route = endpoint_route(root)
        for reason in (middleware, route):
            if isinstance(reason, str):
                log.warning("API fast path off (every API request goes through Django): %s", reason)
                return
        assert isinstance(middleware, Middleware) and isinstance(route, re.Pattern)
        self.middleware = middleware
        self.route = route
        self.prefix = root
        self.enabled = True

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if (
            self.enabled
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and environ.get("PATH_INFO", "").startswith(self.prefix)
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

    def answer(self, environ: dict[str, Any]) -> tuple[str, Headers, bytes] | None:
        """The full answer, or None to let Django answer the request."""
        # A copy: WSGIRequest writes the decoded PATH_INFO back into its environ, and Django
        # must get the server's environ untouched when the request goes to it.
        request = WSGIRequest(environ.copy())
        match = self.route.match(request.path_info)
        if match is None or self.middleware.intercepts(request):
            return None
        try:
            query = api.parse_query(request, match["name"], match["endpoint"])
        except api.BadRequest:
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

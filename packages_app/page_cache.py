"""Pages from cache for readers (issue #17, docs/decisions.md "Page cache").

A view opts in with one line, `@cached_page(identity)`, where `identity(request, **kwargs)`
says what decides the page's bytes for this request (the packages' rows, the normalised
options, ...) or None when the page must be rendered for each request (unknown package,
waiting for data, bad options, a viewer with rights of their own on the object).

The cache key is that identity together with what decides every page's bytes: the database
(data_version starts at 1 in each), scheme, host, path, whether htmx asks for a fragment, the
`q` shown in the header's search box and today's date (relative dates). A refresh that commits
a change bumps the package's row (data_version, dates, recent row), so the next request asks
for a new key: nothing is deleted, nothing stale can be served, and a page whose packages did
not change keeps its entry.

The body is rendered once, as an anonymous reader sees it, with markers where it depends on
the viewer: the CSRF token (context processor `site` gives a marker while rendering for the
cache) and the `{% per_request "part" %}` parts of templates/_per_request.html (the header's
sign-in links, messages, the site's "data as of"). Each request gets the cached body with those
parts rendered for it (ESI-like): a signed-in user gets the same body with their own header.

ETag: the key plus the viewer's state (user, CSRF cookie, full path, data as of), so a
304 is only ever answered for bytes this viewer would get. Last-Modified: the newest refresh
of the page's packages (used for 304s of anonymous readers only; signed-in ones use the ETag).
Entries live in the API's shared store (api/shared_store.py: Redis with one round trip, or
Django's cache without REDIS_URL); a store that is down means a render, never an error.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.messages import get_messages
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csp import get_nonce
from django.middleware.csrf import get_token
from django.template import engines
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date

from packages_app.api import shared_store
from packages_app.database_identity import database_id
from packages_app.history.live import source_key
from packages_app.http import is_partial
from packages_app.pages.selectors import site_data_as_of

log = logging.getLogger(__name__)

# Bump when what a cached entry holds changes: old entries are never read again.
FORMAT_VERSION = 1
PARTS_TEMPLATE = "_per_request.html"
# Response headers a cached entry keeps (the view's own; middleware adds the rest each time).
_KEPT_HEADERS = frozenset({"content-type", "hx-push-url", "referrer-policy"})


@dataclass(frozen=True, slots=True)
class Identity:
    """What decides a page's bytes, beside the request's path and host (see module doc)."""

    parts: tuple[object, ...]
    last_modified: dt.datetime | None = None


IdentityFn = Callable[..., Identity | None]
# A per-request part of a cached body: its marker, its name in PARTS_TEMPLATE, its values.
Part = tuple[str, str, dict[str, Any]]


@dataclass(slots=True)
class Rendering:
    """Set on the request while the view renders for the cache (the site context processor and
    the per_request tag read it)."""

    token: str = field(default_factory=lambda: secrets.token_hex(12))
    parts: list[Part] = field(default_factory=list)

    @property
    def csrf_marker(self) -> str:
        return f"pc-csrf-{self.token}"

    @property
    def nonce_marker(self) -> str:
        return f"pc-nonce-{self.token}"

    def marker(self, part: str, values: dict[str, object]) -> str:
        marker = f"<!--pc:{self.token}:{len(self.parts)}-->"
        # Through JSON now: what is kept is exactly what each request will render with.
        self.parts.append((marker, part, json.loads(json.dumps(values))))
        return marker


def rendering(request: HttpRequest | None) -> Rendering | None:
    """The cache rendering under way for this request, if any."""
    return getattr(request, "_page_cache_rendering", None)


def context_overrides(request: HttpRequest) -> dict[str, object]:
    """For the site context processor: while rendering for the cache, no viewer's CSRF token,
    CSP nonce or messages reach the shared body."""
    state = rendering(request)
    if state is None:
        return {}
    return {"csrf_token": state.csrf_marker, "csp_nonce": state.nonce_marker, "messages": ()}


# --- Row fingerprints: what identity functions are made of ---------------------------------


def row_state(obj: models.Model | None) -> tuple[object, ...]:
    """Every concrete field of a row, in field order (None: no row): a change anywhere in
    it (a refresh, a failure, pausing) makes a new identity."""
    if obj is None:
        return ()
    return tuple(getattr(obj, f.attname) for f in obj._meta.concrete_fields)


def newest(values: Iterable[dt.datetime | None]) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


# --- The decorator ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    status: int
    headers: list[tuple[str, str]]
    parts: list[Part]
    token: str  # the render's: its CSRF and nonce markers (Rendering)
    body: bytes

    def encode(self) -> bytes:
        head = json.dumps([self.headers, self.parts, self.token]).encode()
        return head + b"\n" + self.body

    @classmethod
    def decode(cls, status: int, blob: bytes) -> Entry | None:
        head, sep, body = blob.partition(b"\n")
        if not sep:
            return None
        try:
            headers, parts, token = json.loads(head)
        except ValueError:
            return None
        return cls(
            status,
            [(name, value) for name, value in headers],
            [(marker, part, values) for marker, part, values in parts],
            token,
            body,
        )


def _key(request: HttpRequest, identity: Identity) -> str:
    base = (
        FORMAT_VERSION,
        database_id(),
        request.scheme,
        request.get_host(),
        request.path,
        is_partial(request),
        request.GET.get("q", ""),
        timezone.now().date().isoformat(),
        # Whether (and which) ClickHouse is the second source decides what pages offer
        # (breakdown sections, compare's metrics, list columns); entries outlive a restart.
        settings.CLICKHOUSE_URL and source_key(),
        *identity.parts,
    )
    return hashlib.blake2b(repr(base).encode(), digest_size=16).hexdigest()


def _viewer(request: HttpRequest, as_of: dt.date | None) -> str | None:
    """What the per-request parts depend on, for the ETag; None when the page has messages to
    show (answered in full, never 304)."""
    if len(get_messages(request)):  # loads them, leaves them unread
        return None
    user = request.user
    who = f"{user.pk}:{user.get_username()}:{user.is_staff}" if user.is_authenticated else "-"
    return repr(
        (
            who,
            request.COOKIES.get(settings.CSRF_COOKIE_NAME, ""),
            request.get_full_path(),
            as_of,
        )
    )


# As site_data_as_of caches it: a minute, so a footer is at most a minute behind.
AS_OF_SECONDS = 60


def _as_of_key() -> str:
    return f"page-as-of:{database_id()}"


def _as_of(stored: shared_store.Answer | None) -> dt.date | None:
    """The site's "data as of" kept beside the pages (read with the page), else read and kept."""
    if stored is not None:
        _, raw = stored
        return dt.date.fromisoformat(raw.decode()) if raw else None
    as_of = site_data_as_of()
    raw = as_of.isoformat().encode() if as_of is not None else b""
    shared_store.put(_as_of_key(), (200, raw), AS_OF_SECONDS)
    return as_of


def _etag(key: str, viewer: str) -> str:
    return '"' + hashlib.blake2b(f"{key}|{viewer}".encode(), digest_size=12).hexdigest() + '"'


def _render(
    view: Callable[..., HttpResponseBase],
    request: HttpRequest,
    *args: Any,
    **kwargs: Any,
) -> Entry | None:
    """Render the page as an anonymous reader sees it, with markers for the per-request parts."""
    state = Rendering()
    user = request.user
    request._page_cache_rendering = state  # type: ignore[attr-defined]
    request.user = AnonymousUser()
    try:
        response = view(request, *args, **kwargs)
    finally:
        request.user = user
        del request._page_cache_rendering  # type: ignore[attr-defined]
    if response.status_code != 200 or not isinstance(response, HttpResponse):
        return None
    headers = [(k, v) for k, v in response.items() if k.lower() in _KEPT_HEADERS]
    return Entry(200, headers, state.parts, state.token, response.content)


# Between the parts in their one render: random per process, so no text of a part can hold it.
PARTS_SEPARATOR = f"<!--pc-part-{secrets.token_hex(12)}-->"


@functools.lru_cache(maxsize=64)
def _parts_template(parts: tuple[tuple[str, tuple[str, ...]], ...]) -> Any:
    """A template rendering these parts, each with its values, separated by PARTS_SEPARATOR:
    compiled once per combination of parts and value names (a handful per site)."""
    pieces = []
    for i, (part, names) in enumerate(parts):
        given = " ".join(f"{name}=pc_values_{i}.{name}" for name in names)
        with_values = f" with {given}" if given else ""
        pieces.append(f'{{% include "{PARTS_TEMPLATE}#{part}"{with_values} %}}')
    return engines["django"].from_string(PARTS_SEPARATOR.join(pieces))


def _serve(entry: Entry, request: HttpRequest, as_of: dt.date | None) -> HttpResponse:
    body = entry.body
    if entry.parts:
        # All parts in one render (one context, its processors run once); the site's "data as
        # of" as read once for this request (the ETag has it too).
        context: dict[str, Any] = {"data_as_of": as_of}
        for i, (_, _, values) in enumerate(entry.parts):
            context[f"pc_values_{i}"] = values
        template = _parts_template(tuple((part, tuple(v)) for _, part, v in entry.parts))
        rendered = template.render(context, request).split(PARTS_SEPARATOR)
        for (marker, _, _), text in zip(entry.parts, rendered, strict=True):
            body = body.replace(marker.encode(), text.encode())
    # This request's CSRF token and CSP nonce (each made, with its cookie or header, only
    # when the page uses it, as a render would).
    state = Rendering(token=entry.token)
    csrf = state.csrf_marker.encode()
    if csrf in body:
        body = body.replace(csrf, get_token(request).encode())
    nonce = state.nonce_marker.encode()
    if nonce in body:
        body = body.replace(nonce, str(get_nonce(request)).encode())
    response = HttpResponse(body, status=entry.status)
    for name, value in entry.headers:
        response[name] = value
    return response


def _validators(
    response: HttpResponseBase, tag: str | None, last_modified: dt.datetime | None
) -> None:
    if tag is not None:
        response["ETag"] = tag
    if last_modified is not None:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    # Each viewer's copy carries their CSRF token: revalidate, and never in a shared cache.
    response["Cache-Control"] = "private, no-cache"


def cached_page(
    identity: IdentityFn,
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Serve the view's page from the cache under `identity` (see the module doc)."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if request.method not in ("GET", "HEAD") or not settings.PAGE_CACHE:
                return view(request, *args, **kwargs)
            ident = identity(request, *args, **kwargs)
            if ident is None:
                return view(request, *args, **kwargs)
            key = _key(request, ident)
            # The site's "data as of" and the page in one round trip.
            stored_as_of, stored = shared_store.get_many([_as_of_key(), f"page:{key}"])
            as_of = _as_of(stored_as_of)
            viewer = _viewer(request, as_of)
            tag = _etag(key, viewer) if viewer is not None else None
            last_modified = ident.last_modified
            if tag is not None:
                # If-Modified-Since alone is only trusted for anonymous readers: a signed-in
                # page also changes with its viewer, which the ETag covers and a date cannot.
                since = last_modified if not request.user.is_authenticated else None
                ts = int(since.timestamp()) if since is not None else None
                not_modified = get_conditional_response(request, etag=tag, last_modified=ts)
                if not_modified is not None:
                    _validators(not_modified, tag, last_modified)
                    not_modified["X-Page-Cache"] = "revalidated"
                    return not_modified
            entry = Entry.decode(*stored) if stored is not None else None
            outcome = "hit"
            if entry is None:
                outcome = "miss"
                entry = _render(view, request, *args, **kwargs)
                if entry is None:  # not a plain 200 after all: the view answers as usual
                    return view(request, *args, **kwargs)
                shared_store.put(
                    f"page:{key}", (entry.status, entry.encode()), settings.PAGE_CACHE_TIMEOUT
                )
            response = _serve(entry, request, as_of)
            _validators(response, tag, last_modified)
            response["X-Page-Cache"] = outcome
            return response

        return wrapper

    return decorate

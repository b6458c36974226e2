"""/healthz (JSON, for machines) and /status/ (a page, for people): is the database
answering, is the broker/cache answering, is data fresh? Also the site's /favicon.ico."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import NotRequired, TypedDict

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from packages_app.pages import selectors as page_selectors
from packages_app.sync import selectors


class Check(TypedDict):
    """One backing service: answering or not, and what it is (or what failed)."""

    ok: bool
    vendor: NotRequired[str]  # the database's
    backend: NotRequired[str]  # the cache's
    transport: NotRequired[str]  # the broker's
    error: NotRequired[str]  # the exception's class name, when it failed


class LastRefresh(TypedDict):
    finished_at: str  # ISO 8601
    age_seconds: int


class Health(TypedDict):
    """The /healthz body (in this key order)."""

    database: Check
    cache: Check
    broker: Check
    last_successful_refresh: LastRefresh | None
    worker_heartbeat: str | None  # ISO 8601, when a worker last ran the heartbeat task
    status: str  # "ok" | "unhealthy"


def _check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_cache() -> Check:
    try:
        key = "healthz:probe"
        cache.set(key, "1", 10)
        return {"ok": cache.get(key) == "1", "backend": settings.CACHES["default"]["BACKEND"]}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> Check:
    from pypistats_site.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _worker_heartbeat() -> str | None:
    """When a worker last ran the heartbeat task (beat sends it every minute)."""
    from packages_app.sync.tasks import WORKER_HEARTBEAT_KEY

    try:
        heartbeat: str | None = cache.get(WORKER_HEARTBEAT_KEY)
    except Exception:
        return None
    return heartbeat


def health_report() -> Health:
    """Every check, once: /healthz's JSON for machines, /status/'s page for people."""
    database = _check_database()
    cache_check = _check_cache()
    broker = _check_broker()
    last_refresh: LastRefresh | None = None
    if database["ok"]:
        run = selectors.last_successful_refresh()
        if run is not None and run.finished_at is not None:
            last_refresh = {
                "finished_at": run.finished_at.isoformat(),
                "age_seconds": int((timezone.now() - run.finished_at).total_seconds()),
            }
    heartbeat = _worker_heartbeat()
    healthy = all(check["ok"] for check in (database, cache_check, broker))
    checks: Health = {
        "database": database,
        "cache": cache_check,
        "broker": broker,
        "last_successful_refresh": last_refresh,
        "worker_heartbeat": heartbeat,
        "status": "ok" if healthy else "unhealthy",
    }
    return checks


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health_report()
    return JsonResponse(checks, status=200 if checks["status"] == "ok" else 503)


@require_GET
@never_cache
def status_page(request: HttpRequest) -> HttpResponse:
    """/status/: the same checks in words, linked from every page's footer."""
    checks = health_report()
    last = checks["last_successful_refresh"]
    heartbeat = checks["worker_heartbeat"]
    rows = [
        ("Database", checks["database"]["ok"], checks["database"].get("vendor", "")),
        ("Cache", checks["cache"]["ok"], ""),
        ("Task broker", checks["broker"]["ok"], ""),
    ]
    return render(
        request,
        "packages_app/status.html",
        {
            "healthy": checks["status"] == "ok",
            "rows": [
                {
                    "name": name,
                    "ok": ok,
                    "detail": detail or ("answering" if ok else "not answering"),
                }
                for name, ok, detail in rows
            ],
            "last_refresh": dt.datetime.fromisoformat(last["finished_at"]) if last else None,
            "heartbeat": dt.datetime.fromisoformat(heartbeat) if heartbeat else None,
            # The footer's date reads the database: only when it answers.
            "data_as_of": page_selectors.site_data_as_of() if checks["database"]["ok"] else None,
        },
        status=200 if checks["status"] == "ok" else 503,
    )


_FAVICON = Path(__file__).resolve().parent.parent / "static" / "favicon.svg"


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico: browsers ask for it on every site whatever the page says; answer with
    the site's SVG icon (every current browser takes an SVG favicon at this address)."""
    response = HttpResponse(_FAVICON.read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# A Host a loopback check sends: a loopback address or `localhost`, with any port.
_LOOPBACK_HOST = re.compile(r"\A(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?\Z")


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class LocalHealthCheckMiddleware:
    """Answers `GET /healthz` sent over loopback to a loopback Host, before host validation.

    A container's healthcheck calls http://127.0.0.1:8000/healthz from inside the container,
    and Django refuses that Host as soon as ALLOWED_HOSTS names the real site. Only a request
    whose peer is loopback AND whose Host is a loopback name is answered here, and only this
    one path, which builds no URL from the Host: every other request, and /healthz from
    anywhere else, goes through ALLOWED_HOSTS as before. First in MIDDLEWARE.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info == "/healthz"
            and request.method == "GET"
            and _is_loopback(request.META.get("REMOTE_ADDR", ""))
            and _LOOPBACK_HOST.match(request.META.get("HTTP_HOST", ""))
        ):
            return healthz(request)
        return self.get_response(request)

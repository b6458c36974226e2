"""/healthz: is the database answering, is the broker/cache answering, is data fresh?"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from . import selectors


def _check_database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_cache() -> dict[str, Any]:
    try:
        key = "healthz:probe"
        cache.set(key, "1", 10)
        return {"ok": cache.get(key) == "1", "backend": settings.CACHES["default"]["BACKEND"]}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _check_broker() -> dict[str, Any]:
    from pypistats_site.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}


def _worker_heartbeat() -> str | None:
    """When a worker last ran the heartbeat task (beat sends it every minute)."""
    from .tasks import WORKER_HEARTBEAT_KEY

    try:
        return cache.get(WORKER_HEARTBEAT_KEY)
    except Exception:
        return None


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    database = _check_database()
    checks: dict[str, Any] = {
        "database": database,
        "cache": _check_cache(),
        "broker": _check_broker(),
    }
    last_refresh = None
    if database["ok"]:
        run = selectors.last_successful_refresh()
        if run is not None and run.finished_at is not None:
            last_refresh = {
                "finished_at": run.finished_at.isoformat(),
                "age_seconds": int((timezone.now() - run.finished_at).total_seconds()),
            }
    checks["last_successful_refresh"] = last_refresh
    checks["worker_heartbeat"] = _worker_heartbeat()
    healthy = all(checks[name]["ok"] for name in ("database", "cache", "broker"))
    checks["status"] = "ok" if healthy else "unhealthy"
    return JsonResponse(checks, status=200 if healthy else 503)

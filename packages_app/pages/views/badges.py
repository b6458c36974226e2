"""Download badges: shields-style SVG and shields.io's endpoint JSON."""

from __future__ import annotations

import hashlib
import json

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
)
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET

from packages_app import soft_cache
from packages_app.history import selectors as history
from packages_app.names import canonicalize
from packages_app.pages import selectors
from packages_app.pages.badges import PERIODS, Badge, downloads_badge, not_found_badge
from packages_app.pages.package import package_facts, total_caption


def _badge_for(name: str, period: str) -> tuple[Badge, int]:
    """The badge and its HTTP status; cached per package, period and data_version."""
    package = selectors.package_for_page(name)
    if package is None or not package.has_data:
        return not_found_badge(period), 404
    key = f"badge:v2:{package.pk}:{package.data_version}:{period}"
    cached = soft_cache.get(key)
    if isinstance(cached, Badge):
        return cached, 200
    note = ""
    if period == "total":
        # All-time when ClickHouse's history is held; the tooltip says from when and whence.
        total = history.all_time_total(package.pk, package=package)
        value: int | None = total.downloads
        note = total_caption(total)
    else:
        recent = package_facts(package, today=timezone.now().date()).recent
        value = {"day": recent.last_day, "week": recent.last_week, "month": recent.last_month}[
            period
        ]
    badge = downloads_badge(period, value, note=note)
    soft_cache.set(key, badge, settings.BADGE_MAX_AGE)
    return badge, 200


@require_GET
def badge(request: HttpRequest, name: str, period: str, fmt: str) -> HttpResponseBase:
    if period not in PERIODS:
        raise Http404("Unknown period.")
    canonical = canonicalize(name)
    badge_, status = _badge_for(canonical, period)
    if fmt == "svg":
        body = badge_.svg().encode()
        content_type = "image/svg+xml; charset=utf-8"
    else:
        body = (json.dumps(badge_.endpoint_json(), separators=(",", ":")) + "\n").encode()
        content_type = "application/json"
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if status == 200 and (
        conditional := get_conditional_response(request, etag=etag, response=None)
    ):
        conditional["ETag"] = etag
        patch_cache_control(conditional, public=True, max_age=settings.BADGE_MAX_AGE)
        return conditional
    response = HttpResponse(body, content_type=content_type, status=status)
    response["ETag"] = etag
    response["Access-Control-Allow-Origin"] = "*"
    if status == 200:
        patch_cache_control(response, public=True, max_age=settings.BADGE_MAX_AGE)
    else:
        # A package can appear at any moment: do not let "not found" stick for long.
        patch_cache_control(response, public=True, max_age=300)
    return response

"""Home, search, package pages, tracking, exports and badges.

Views stay thin: access -> options/selector -> render. The chart data comes from
package_charts (cached by data_version + options), never built here.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url

from . import exports, package_charts, search, selectors, soft_cache
from .badges import PERIODS, Badge, downloads_badge, not_found_badge
from .chart_options import PACKAGE_DEFAULTS, ChartOptions, OptionsError, parse_options
from .htmx_requests import is_partial
from .models import Package
from .names import ALL_PACKAGES, InvalidPackageName, canonicalize
from .services import package_track

RANGE_LABELS = (
    ("30", "30 days"),
    ("90", "90 days"),
    ("180", "180 days"),
    ("365", "1 year"),
    ("all", "All"),
)
AGG_LABELS = (("day", "Daily"), ("week", "Weekly"), ("month", "Monthly"))
SCALE_LABELS = (("linear", "Linear"), ("log", "Log"))


def _canonical_redirect(request: HttpRequest, name: str) -> HttpResponse | None:
    """301 to the canonical spelling of the name, keeping the query string."""
    canonical = canonicalize(name)
    if canonical == name:
        return None
    match = request.resolver_match
    assert match is not None  # only called from views reached through the URLconf
    url = reverse(match.view_name, kwargs={**match.kwargs, "name": canonical})
    if query := request.META.get("QUERY_STRING"):
        url = f"{url}?{query}"
    return HttpResponsePermanentRedirect(url)


# --- Home and search --------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if request.GET.get("q", "").strip():
        # The header search box of older pages submitted here: same as /search/.
        return search_view(request)
    movers = _cached_movers()
    return render(
        request,
        "packages_app/home.html",
        {"packages": selectors.tracked_packages_with_recent(), "movers": movers},
    )


def _cached_movers() -> selectors.Movers | None:
    as_of = selectors.site_data_as_of()
    key = f"home:movers:v1:{as_of}:{timezone.now().date()}"
    cached = soft_cache.get(key)
    if isinstance(cached, selectors.Movers):
        return cached
    movers = selectors.weekly_movers(as_of=as_of)
    soft_cache.set(key, movers, 600)
    return movers


@require_GET
@vary_on_headers("HX-Request")
def search_view(request: HttpRequest) -> HttpResponse:
    """Suggestions (HTMX fragment) or the search page; an exact known name redirects to it."""
    query = request.GET.get("q", "")
    results = search.suggest(query)
    context = {"results": results, "q": query, "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY}
    if is_partial(request):
        return render(request, "packages_app/search.html#suggestions", context)
    if results.exact is not None:
        return redirect("package-detail", name=results.exact.name)
    return render(request, "packages_app/search.html", context)


# --- Package page ----------------------------------------------------------------------


def _control_links(options: ChartOptions) -> dict[str, list[dict[str, Any]]]:
    def link(label: str, current: bool, **change: Any) -> dict[str, Any]:
        return {"label": label, "href": options.querystring(**change) or "?", "current": current}

    return {
        "range": [
            link(label, not options.custom_dates and options.range == value, range=value)
            for value, label in RANGE_LABELS
        ],
        "agg": [link(label, options.agg == value, agg=value) for value, label in AGG_LABELS],
        "scale": [
            link(label, options.scale == value, scale=value) for value, label in SCALE_LABELS
        ],
        "smooth": [
            link("Off", not options.smooth, smooth=False),
            link("7-day average", options.smooth, smooth=True),
        ],
    }


def _charts_context(package: Package, options: ChartOptions) -> dict[str, Any]:
    bundle = package_charts.chart_bundle(package, options)
    payload = bundle["payload"] if bundle else None
    charts = []
    if bundle is not None:
        for chart in bundle["payload"]["charts"]:
            charts.append({**chart, "table": bundle["tables"][chart["id"]]})
    return {
        "options": options,
        "payload": payload,
        "chart_data": bundle["json_script"] if bundle else "",
        "charts": charts,
        "controls": _control_links(options),
        "querystring": options.querystring(),
        "options_errors": [],
    }


@require_GET
@vary_on_headers("HX-Request")
def package_detail(request: HttpRequest, name: str) -> HttpResponse:
    if response := _canonical_redirect(request, name):
        return response
    package = selectors.package_for_page(name)
    context: dict[str, Any] = {
        "name": name,
        "package": package,
        "is_all": name == ALL_PACKAGES,
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
    }
    try:
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except OptionsError as error:
        # Same page with the problems listed and the default charts: never a 500.
        options = parse_options({}, PACKAGE_DEFAULTS)
        if package is not None and package.has_data:
            context.update(_charts_context(package, options))
        context.update(
            options=options, options_errors=error.messages, status=selectors.data_status(package)
        )
        template = "packages_app/package_detail.html"
        if is_partial(request):
            template += "#charts"
        return render(request, template, context, status=400)

    if package is None or not package.has_data:
        context["status"] = selectors.data_status(package)
        return render(request, "packages_app/package_detail.html", context)

    context.update(_charts_context(package, options))
    if is_partial(request):
        response = render(request, "packages_app/package_detail.html#charts", context)
        # The canonical URL: a date form may submit empty or default fields.
        return push_url(response, request.path + options.querystring())
    facts = package_charts.package_facts(package, today=timezone.now().date())
    context.update(facts=facts, recent=facts.recent, python=facts.python)
    context["badge_periods"] = PERIODS
    return render(request, "packages_app/package_detail.html", context)


# --- Tracking ----------------------------------------------------------------------------


@require_POST
@login_required
def package_track_view(request: HttpRequest, name: str) -> HttpResponse:
    try:
        canonical = canonicalize(name)
    except InvalidPackageName as exc:  # the converter already rejects these
        raise Http404 from exc
    existing = Package.objects.filter(name=canonical).first()
    starts_new = existing is None
    limit = settings.TRACK_LIMIT_PER_USER_PER_DAY
    if starts_new and selectors.packages_started_by_user_today(request.user) >= limit:
        messages.error(
            request,
            f"You have started tracking {limit} packages today, the daily limit. "
            "Try again tomorrow (UTC) or ask an operator.",
        )
    else:
        package, created = package_track(name=canonical, user=request.user)
        if created or starts_new:
            messages.success(
                request, f"Tracking {package.name}: its data arrives within a few minutes."
            )
    return redirect("package-detail", name=canonical)


@require_GET
@vary_on_headers("HX-Request")
def package_status(request: HttpRequest, name: str) -> HttpResponse:
    """The polled progress fragment; 286 (htmx: stop polling) once there is an answer."""
    if response := _canonical_redirect(request, name):
        return response
    package = selectors.package_for_page(name)
    status = selectors.data_status(package)
    context = {
        "name": name,
        "package": package,
        "status": status,
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
    }
    if not is_partial(request):
        return redirect("package-detail", name=name)
    if not status["done"]:
        return render(request, "packages_app/package_detail.html#status", context)
    stop = HttpResponseStopPolling(
        render(request, "packages_app/package_detail.html#status", context).content
    )
    if status["state"] == "ready":
        # The first refresh landed: reload so the page shows its charts.
        stop["HX-Refresh"] = "true"
    return stop


# --- Exports -------------------------------------------------------------------------------


@require_GET
def package_export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    if response := _canonical_redirect(request, name):
        return response
    try:
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except OptionsError as error:
        return HttpResponse(
            "Invalid options: " + "; ".join(error.messages) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    package = selectors.package_for_page(name)
    payload = package_charts.chart_payload(package, options) if package is not None else None
    if payload is None:
        raise Http404("No data held for this package in that window.")
    if fmt == "csv":
        response = HttpResponse(exports.to_csv(payload), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.to_json(payload), content_type="application/json; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(payload, fmt)}"'
    return response


# --- Badges ----------------------------------------------------------------------------------


def _badge_for(name: str, period: str) -> tuple[Badge, int]:
    """The badge and its HTTP status; cached per package, period and data_version."""
    package = selectors.package_for_page(name)
    if package is None or not package.has_data:
        return not_found_badge(period), 404
    key = f"badge:v1:{package.pk}:{package.data_version}:{period}"
    cached = soft_cache.get(key)
    if isinstance(cached, Badge):
        return cached, 200
    if period == "total":
        value: int | None = selectors.total_without_mirrors(package.pk)
    else:
        recent = package_charts.package_facts(package, today=timezone.now().date()).recent
        value = {"day": recent.last_day, "week": recent.last_week, "month": recent.last_month}[
            period
        ]
    badge = downloads_badge(period, value)
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

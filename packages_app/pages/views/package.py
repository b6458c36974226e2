"""The package page, its HTMX partials, tracking from it and its exports.

Views stay thin: access -> options/selector -> render. The chart data comes from
pages/package.py (cached by data_version + options), never built here; the chart
controls, tracking, polling and export answers are the ones the compare page uses too.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from packages_app.history import selectors as history
from packages_app.history.client import ClickHouseError
from packages_app.http import is_partial, poll_answer
from packages_app.models import Package
from packages_app.names import ALL_PACKAGES, InvalidPackageName, canonicalize
from packages_app.page_cache import Identity, cached_page
from packages_app.pages import exports, selectors
from packages_app.pages.badges import snippets as badge_snippets
from packages_app.pages.breakdowns import breakdown_slots
from packages_app.pages.live import reads_live
from packages_app.pages.options import PACKAGE_DEFAULTS, ChartOptions, OptionsError, parse_options
from packages_app.pages.package import (
    CHART_IDS,
    chart_bundle,
    chart_payload,
    charts_context,
    package_facts,
    table_url,
)
from packages_app.pages.views.live import live_export, live_page, live_table_bundle
from packages_app.pages.views.track import track_from_page

logger = logging.getLogger(__name__)


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


def _charts_context(package: Package, options: ChartOptions) -> dict[str, Any]:
    return {
        # Below-fold tables are fetched when first opened; their numbers are in the JSON.
        **charts_context(
            chart_bundle(package, options), options, table_url=table_url(package.name, options)
        ),
        # The first day shown, whichever source holds it (the date form's minimum).
        "held_from": history.sources(package).first,
        "options_errors": [],
        "breakdown_slots": breakdown_slots(package.name, options),
    }


def package_page_identity(request: HttpRequest, name: str) -> Identity | None:
    """What decides the package page's bytes: the package's row with its `recent` and
    ClickHouse `history` rows (data_version, dates, refresh state) and the normalised options.
    Not cached: a name to redirect, bad options, a package without data (its progress box
    changes by itself, or it is read live from ClickHouse)."""
    try:
        if canonicalize(name) != name:
            return None
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except (InvalidPackageName, OptionsError):
        return None
    state = selectors.page_states([name]).get(name)
    if state is None or not state.has_data:
        return None
    return Identity(
        ("package", options.querystring(), state.row), last_modified=state.last_refreshed_at
    )


@require_GET
@vary_on_headers("HX-Request")
@cached_page(package_page_identity)
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
    # The store cannot show it yet (nothing held, or its history still to come): read it
    # live from ClickHouse, if it is on and answers.
    if (
        name != ALL_PACKAGES
        and reads_live(package)
        and (response := live_page(request, name, package))
    ):
        return response
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
    facts = package_facts(package, today=timezone.now().date())
    context.update(facts=facts, recent=facts.recent, python=facts.python)
    context["badges"] = badge_snippets(
        svg_url=lambda period: request.build_absolute_uri(
            reverse("badge-svg", args=[package.name, period])
        ),
        page_url=request.build_absolute_uri(reverse("package-detail", args=[package.name])),
    )
    return render(request, "packages_app/package_detail.html", context)


@require_GET
@vary_on_headers("HX-Request")
def package_table(request: HttpRequest, name: str, chart: str) -> HttpResponse:
    """One chart's data table, for the options in the query string: the htmx partial the
    package page fetches when a below-the-fold table is first opened, or, without
    JavaScript (the page links to it), a page of its own with a way back to the charts."""
    if response := _canonical_redirect(request, name):
        return response
    if chart not in CHART_IDS:
        raise Http404("No such chart.")
    try:
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except OptionsError as error:
        return exports.invalid_options(error.messages)
    package = selectors.package_for_page(name)
    bundle = None
    if reads_live(package):
        # The live page's tables (an untracked package, or one whose history is on the way).
        try:
            bundle = live_table_bundle(name, options)
        except ClickHouseError as exc:
            logger.warning("ClickHouse could not answer for %s: %s", name, exc)
            if package is None or not package.has_data:
                return HttpResponse(
                    "ClickHouse is not answering; try again in a minute.\n",
                    status=503,
                    content_type="text/plain; charset=utf-8",
                )
    if bundle is None and package is not None and package.has_data:
        bundle = chart_bundle(package, options)
    if bundle is None:
        raise Http404("No data is held for this package in that window.")
    table = bundle["tables"][chart]
    if is_partial(request):
        return HttpResponse(table)
    spec = next(c for c in bundle["payload"]["charts"] if c["id"] == chart)
    context = {
        "name": name,
        "is_all": name == ALL_PACKAGES,
        "chart": {**spec, "table": table},
        "payload": bundle["payload"],
        "querystring": options.querystring(),
    }
    return render(request, "packages_app/package_table.html", context)


@require_POST
@login_required
def package_track_view(request: HttpRequest, name: str) -> HttpResponse:
    try:
        canonical = canonicalize(name)
    except InvalidPackageName as exc:  # the converter already rejects these
        raise Http404 from exc
    track_from_page(request, canonical)
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
        # Polled from the live page (its charts read from ClickHouse meanwhile): its wording.
        "live_charts": request.GET.get("live") == "1",
    }
    if not is_partial(request):
        return redirect("package-detail", name=name)
    return poll_answer(render(request, "packages_app/package_detail.html#status", context), status)


@require_GET
def package_export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    if response := _canonical_redirect(request, name):
        return response
    try:
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except OptionsError as error:
        return exports.invalid_options(error.messages)
    package = selectors.package_for_page(name)
    if reads_live(package) and (response := live_export(name, options, fmt, package)):
        return response
    payload = chart_payload(package, options) if package is not None else None
    return exports.download(
        payload, fmt, exports.PACKAGE, missing="No data held for this package in that window."
    )

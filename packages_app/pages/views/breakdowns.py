"""A package's breakdown sections (versions, installers, countries; issue #16).

The package page loads each section as an HTMX partial when it scrolls into view; without
JavaScript its link opens the same section as a page of its own. Public like the package
page, for any valid name ClickHouse knows, tracked or not. With the source off there is
nothing to show: 404.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from packages_app.history import breakdown_selectors as selectors
from packages_app.history.breakdown_selectors import Kind
from packages_app.history.client import ClickHouseDisabled, ClickHouseError, ClickHouseRateLimited
from packages_app.http import is_partial
from packages_app.names import ALL_PACKAGES
from packages_app.pages.breakdowns import (
    KIND_DESCRIPTIONS,
    KIND_TITLES,
    BreakdownOptions,
    build_section,
    data_element_id,
    parse_breakdown_options,
    section_controls,
)
from packages_app.pages.chart import control_links
from packages_app.pages.options import OptionsError
from packages_app.pages.views.package import _canonical_redirect

logger = logging.getLogger(__name__)
TEMPLATE = "packages_app/breakdown.html"


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise Http404("no such breakdown") from None


@require_GET
@vary_on_headers("HX-Request")
def package_breakdown(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    if response := _canonical_redirect(request, name):
        return response
    section = _kind(kind)
    if name == ALL_PACKAGES:
        raise Http404("PyPI's total has no breakdowns")
    url = reverse("package-breakdown", args=[name, section.value])
    context: dict[str, Any] = {
        "name": name,
        "kind": section.value,
        "title": KIND_TITLES[section],
        "description": KIND_DESCRIPTIONS[section],
        "section_url": url,
        "payload_id": data_element_id(section),
        "options_errors": [],
    }
    status = 200
    try:
        options = parse_breakdown_options(request.GET)
    except OptionsError as error:
        options = parse_breakdown_options({})
        context["options_errors"] = error.messages
        status = 400
    try:
        held = selectors.held(name)
        bundle = build_section(name, held, section, options) if held is not None else None
    except ClickHouseDisabled:
        raise Http404("ClickHouse, where breakdowns come from, is off on this site") from None
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer %s of %s: %s", section.value, name, exc)
        context["failure"] = "busy" if isinstance(exc, ClickHouseRateLimited) else "down"
        return _render(request, context, 503)
    if held is None:
        context["unknown"] = True
        return _render(request, context, 404)
    context.update(_section_context(section, options, url, bundle))
    context["held"] = held
    return _render(request, context, status)


def _section_context(
    kind: Kind, options: BreakdownOptions, url: str, bundle: dict[str, Any] | None
) -> dict[str, Any]:
    def href(**change: Any) -> str:
        return url + options.querystring(kind, **change)

    return {
        "options": options.chart,
        "breakdown": options,
        "bundle": bundle,
        "payload": bundle["payload"] if bundle else None,
        "chart": bundle["payload"]["charts"][0] if bundle else None,
        "controls": control_links(options.chart, href),
        "section_controls": section_controls(kind, options, lambda qs: url + qs),
    }


def _render(request: HttpRequest, context: dict[str, Any], status: int) -> HttpResponse:
    template = TEMPLATE + "#section" if is_partial(request) else TEMPLATE
    return render(request, template, context, status=status)

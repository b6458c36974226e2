"""The package page of a package nobody tracks: read live from ClickHouse (issue #15, item 4).

package_detail hands over here when the store cannot show a name yet (pages/live.reads_live):
nobody tracks it, or it is tracked and its first refresh or its ClickHouse history is still
to come. With the source off (CLICKHOUSE_URL empty) this answers None and the page is
today's "not tracked" page or progress card; for a tracked package it also answers None
when ClickHouse fails or has never seen the name, and the page falls back to what is
stored (or the progress card).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import push_url

from packages_app.history.client import ClickHouseDisabled, ClickHouseError, ClickHouseRateLimited
from packages_app.http import is_partial
from packages_app.models import Package
from packages_app.pages import exports
from packages_app.pages.breakdowns import breakdown_slots
from packages_app.pages.live import live_bundle, live_package, live_payload
from packages_app.pages.options import PACKAGE_DEFAULTS, ChartOptions, OptionsError, parse_options
from packages_app.pages.package import charts_context, table_url
from packages_app.pages.selectors import data_status

logger = logging.getLogger(__name__)
TEMPLATE = "packages_app/package_live.html"


def live_page(
    request: HttpRequest, name: str, tracked: Package | None = None
) -> HttpResponse | None:
    """The live page, a 404 for a name ClickHouse has never seen, a 503 when it fails;
    None when the source is off. Invalid options: the default charts and the problems (400),
    as on a tracked package's page. `tracked`: the package's row while its data is being
    fetched; the page then says so (and polls) instead of offering "Track", and a name
    ClickHouse cannot answer for is None (the stored page or the progress card instead)."""
    options_errors: list[str] = []
    try:
        options = parse_options(request.GET, PACKAGE_DEFAULTS)
    except OptionsError as error:
        options, options_errors = parse_options({}, PACKAGE_DEFAULTS), error.messages
    fetching = tracked is not None and tracked.tracked
    context: dict[str, Any] = {
        "name": name,
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
        "options": options,
        "options_errors": options_errors,
        # Tracked, its data on the way: the progress card (polled) instead of "Track".
        "tracking": tracked if fetching else None,
        "status": data_status(tracked) if fetching else None,
        "live_charts": True,
    }
    try:
        found = live_package(name)
        bundle = live_bundle(found, options) if found is not None else None
    except ClickHouseDisabled:
        return None
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer for %s: %s", name, exc)
        if fetching:
            return None
        context["failure"] = "busy" if isinstance(exc, ClickHouseRateLimited) else "down"
        return render(request, TEMPLATE, context, status=503)
    if found is None:
        return None if fetching else render(request, TEMPLATE, context, status=404)
    context.update(
        charts_context(bundle, options, table_url=table_url(name, options)),
        package=found,
        breakdown_slots=breakdown_slots(name, options),
    )
    status = 400 if options_errors else 200
    if is_partial(request):
        response = render(
            request, "packages_app/package_detail.html#charts", context, status=status
        )
        return (
            push_url(response, request.path + options.querystring()) if status == 200 else response
        )
    return render(request, TEMPLATE, context, status=status)


def live_export(
    name: str, options: ChartOptions, fmt: str, held: Package | None = None
) -> HttpResponse | None:
    """The live page's exports (its chart partial links to them); None when the source is
    off, or when ClickHouse cannot answer for a package whose upstream days are stored
    (`held`): the stored export then, as its page falls back to the stored charts."""
    try:
        found = live_package(name)
        payload = live_payload(found, options) if found is not None else None
    except ClickHouseDisabled:
        return None
    except ClickHouseError as exc:
        logger.warning("ClickHouse could not answer for %s's export: %s", name, exc)
        if held is not None and held.has_data:
            return None
        return HttpResponse(
            "ClickHouse, where this site reads packages nobody tracks, cannot answer right "
            "now. Try again in a few minutes.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
    if found is None and held is not None and held.has_data:
        return None
    return exports.download(
        payload, fmt, exports.PACKAGE, missing="No downloads known for this package in that window."
    )


def live_table_bundle(name: str, options: ChartOptions) -> dict[str, Any] | None:
    """The live bundle a below-the-fold table of the live page is cut from (package_table);
    None when the source is off or has never seen the name. ClickHouseError goes up."""
    try:
        found = live_package(name)
    except ClickHouseDisabled:
        return None
    return live_bundle(found, options) if found is not None else None

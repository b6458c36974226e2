"""The comparison page, its HTMX partials, tracking from it, and its exports.

Thin views: options (packages_app.pages.compare.parse_compare) -> selectors/payload -> render.
Every option lives in the URL; a request whose query string is not the canonical one
is redirected to it (an HTMX request instead gets the canonical URL pushed), so the
address bar is always the shareable link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from packages_app.http import HtmxHttpRequest, is_partial, login_required, poll_answer
from packages_app.models import Package
from packages_app.names import ALL_PACKAGES, InvalidPackageName, canonicalize
from packages_app.page_cache import Identity, cached_page, newest
from packages_app.pages import exports, search, selectors
from packages_app.pages.chart import data_script
from packages_app.pages.compare import (
    MAX_PACKAGES,
    CompareOptions,
    category_choices,
    compare_payload,
    compare_url,
    controls,
    describe,
    packages_by_name,
    parse_compare,
    table_html,
)
from packages_app.pages.compare_breakdowns import PROBLEM_TEXT, UNAVAILABLE, breakdown_payload
from packages_app.pages.live import LivePackage, live_packages, reads_live
from packages_app.pages.views.track import track_from_page
from watchlists.views.compare import open_watchlist

TEMPLATE = "packages_app/compare.html"


def untracked_live(
    names: Iterable[str], packages: dict[str, Package]
) -> tuple[dict[str, LivePackage], dict[str, str]]:
    """The compared names the store cannot show yet (pages/live.reads_live: nothing held, or
    tracked with its history still to come), read from ClickHouse."""
    untracked = [name for name in names if reads_live(packages.get(name))]
    return live_packages(untracked) if untracked else ({}, {})


def _context(
    request: HtmxHttpRequest, options: CompareOptions, errors: dict[str, str]
) -> dict[str, Any]:
    wanted = list(options.packages)
    if options.mode == "share_pypi":
        wanted.append(ALL_PACKAGES)
    packages = packages_by_name(wanted)
    live: dict[str, LivePackage] = {}
    if options.breakdown:
        # Breakdowns come from ClickHouse for every name, tracked or not.
        payload, live_problems = breakdown_payload(options)
    else:
        live, live_problems = untracked_live(options.packages, packages)
        payload = compare_payload(options, packages, live)
    charted = set(payload["packages"]) if payload else set()
    entries = []
    for name in options.packages:
        package = packages.get(name)
        entries.append(
            {
                "name": name,
                "package": package,
                "status": selectors.data_status(package),
                "charted": name in charted,
                # Why ClickHouse could not chart an untracked name: "unknown", "unavailable"
                # (its dates or its series not answered), and on a breakdown, for any name:
                # "no_release".
                "live_problem": live_problems.get(name, "")
                or ("unavailable" if name in live and name not in charted else ""),
                "breakdown_problem": PROBLEM_TEXT.get(live_problems.get(name, ""), "")
                if options.breakdown
                else "",
                "remove_href": compare_url(
                    options, packages=tuple(n for n in options.packages if n != name)
                ),
            }
        )
    canonical = compare_url(options)
    description = describe(options, payload)
    return {
        "options": options,
        "errors": [f"{name}: {message}" for name, message in errors.items()],
        "payload": payload,
        "chart_data": data_script(payload) if payload else "",
        "table": table_html(payload) if payload else "",
        "entries": entries,
        "waiting": [e for e in entries if not e["charted"]],
        "controls": controls(options),
        "category_choices": category_choices(options.metric, options.breakdown),
        "canonical_url": canonical,
        # The current state as (name, value) pairs: hidden fields of the GET/POST forms.
        "state": options.pairs(),
        "share_url": request.build_absolute_uri(canonical),
        "querystring": options.querystring(),
        "page_title": description,
        "description": description,
        "max_packages": MAX_PACKAGES,
        "room": MAX_PACKAGES - len(options.packages),
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
    }


def compare_page_identity(request: HtmxHttpRequest) -> Identity | None:
    """What decides the compare page's bytes: its canonical options and the rows of every
    package it reads (with `__all__` for the share of PyPI). Not cached: a watchlist opened
    as a comparison, options with errors or to redirect, a package without data."""
    if "watchlist" in request.GET:
        return None
    options, errors = parse_compare(request.GET)
    if errors or not options.packages:
        return None
    canonical_query = options.querystring().removeprefix("?")
    if not is_partial(request) and request.META.get("QUERY_STRING", "") != canonical_query:
        return None
    wanted = [*options.packages, *([ALL_PACKAGES] if options.mode == "share_pypi" else [])]
    states = selectors.page_states(wanted)
    if any(name not in states or not states[name].has_data for name in wanted):
        return None
    return Identity(
        ("compare", canonical_query, tuple(states[name].row for name in wanted)),
        last_modified=newest(states[name].last_refreshed_at for name in wanted),
    )


@require_GET
@vary_on_headers("HX-Request")
@cached_page(compare_page_identity)
def compare_page(request: HtmxHttpRequest) -> HttpResponse:
    if "watchlist" in request.GET:
        # A watchlist opened as a comparison: lists and who may see them are watchlists'.
        return open_watchlist(request)
    options, errors = parse_compare(request.GET)
    canonical_query = options.querystring().removeprefix("?")
    is_canonical = request.META.get("QUERY_STRING", "") == canonical_query
    if not errors and not is_canonical and not is_partial(request):
        # Canonical names, order and no defaults: one view state, one URL. 302, not 301:
        # defaults may change one day, and a browser never forgets a 301.
        return HttpResponseRedirect(compare_url(options))
    context = _context(request, options, errors)
    status = 400 if errors else 200
    if is_partial(request):
        response = render(request, TEMPLATE + "#compare-body", context, status=status)
        if not errors:
            response = push_url(response, context["canonical_url"])
        return response
    return render(request, TEMPLATE, context, status=status)


@require_GET
@vary_on_headers("HX-Request")
def compare_suggest(request: HtmxHttpRequest) -> HttpResponse:
    """Suggestions for the "add a package" box: each one a link to the comparison with it."""
    query = request.GET.copy()
    # The add box sends what is typed as `add`, with the current state beside it.
    typed = query.pop("add", [""])[-1] or query.get("q", "")
    options, _errors = parse_compare(query)
    results = search.suggest(typed)
    suggestions = []
    for package in results.matches:
        if package.name in options.packages:
            continue
        suggestions.append(
            {
                "name": package.name,
                "package": package,
                "href": compare_url(options, packages=(*options.packages, package.name)),
            }
        )
    offer = None
    if (
        results.offer
        and results.offer not in options.packages
        and not any(s["name"] == results.offer for s in suggestions)
    ):
        offer = {
            "name": results.offer,
            "href": compare_url(options, packages=(*options.packages, results.offer)),
        }
    context = {
        "suggestions": suggestions[:MAX_PACKAGES],
        "offer": offer,
        "q": typed,
        "full": len(options.packages) >= MAX_PACKAGES,
        "max_packages": MAX_PACKAGES,
        "valid": bool(results.key.strip("-")) and (bool(results.matches) or bool(results.offer)),
    }
    return render(request, TEMPLATE + "#suggestions", context)


@require_GET
@vary_on_headers("HX-Request")
def compare_status(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The polled progress card of one package; 286 (htmx: stop) once there is an answer."""
    canonical = canonicalize(name)
    options, _errors = parse_compare(request.GET)
    if not is_partial(request):
        return HttpResponseRedirect(compare_url(options))
    package = selectors.package_for_page(canonical)
    status = selectors.data_status(package)
    entry = {"name": canonical, "package": package, "status": status}
    context = {
        "entry": entry,
        "options": options,
        "state": options.pairs(),
        "querystring": options.querystring(),
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
    }
    return poll_answer(render(request, TEMPLATE + "#status", context), status)


@require_POST
@login_required
def compare_track(request: HtmxHttpRequest) -> HttpResponse:
    """Start tracking one compared package (signed in; the daily per-user limit applies)."""
    options, _errors = parse_compare(request.POST)
    try:
        name = canonicalize(request.POST.get("name", ""))
    except InvalidPackageName:
        messages.error(request, "That is not a valid package name.")
        return redirect(compare_url(options))
    track_from_page(request, name)
    return redirect(compare_url(options))


@require_GET
def compare_export(request: HtmxHttpRequest, fmt: str) -> HttpResponse:
    options, errors = parse_compare(request.GET)
    if errors:
        return exports.invalid_options(f"{k}: {v}" for k, v in errors.items())
    if options.breakdown:
        payload, problems = breakdown_payload(options)
        if payload is None and UNAVAILABLE in problems.values():
            return exports.unavailable()
        return exports.download(
            payload, fmt, exports.COMPARE, missing="ClickHouse holds none of these packages."
        )
    wanted = [*options.packages, *([ALL_PACKAGES] if options.mode == "share_pypi" else [])]
    packages = packages_by_name(wanted)
    payload = compare_payload(options, packages, untracked_live(options.packages, packages)[0])
    return exports.download(
        payload, fmt, exports.COMPARE, missing="No data is held for these packages in that window."
    )

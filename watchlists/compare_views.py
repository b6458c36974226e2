"""The comparison page, its HTMX partials, tracking from it, saving it, and its exports.

Thin views: options (watchlists.compare.parse_compare) -> selectors/payload -> render.
Every option lives in the URL; a request whose query string is not the canonical one
is redirected to it (an HTMX request instead gets the canonical URL pushed), so the
address bar is always the shareable link.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseStopPolling, push_url

from packages_app import search
from packages_app import selectors as package_selectors
from packages_app.chart_options import RANGES
from packages_app.htmx_requests import is_partial
from packages_app.models import Metric, Package
from packages_app.names import ALL_PACKAGES, InvalidPackageName, canonicalize
from packages_app.services import package_track

from . import access, compare, selectors, services
from .compare import CompareOptions
from .http import HtmxHttpRequest, login_required
from .models import Visibility

TEMPLATE = "watchlists/compare.html"
RANGE_LABELS = {"30": "30 days", "90": "90 days", "180": "180 days", "365": "1 year", "all": "All"}
AGG_LABELS = (("day", "Daily"), ("week", "Weekly"), ("month", "Monthly"))
SCALE_LABELS = (("linear", "Linear"), ("log", "Log"))


def _compare_url(options: CompareOptions, **overrides: Any) -> str:
    return reverse("compare") + options.querystring(**overrides)


# --- context ---------------------------------------------------------------------------------


def _controls(options: CompareOptions) -> dict[str, list[dict[str, Any]]]:
    def link(label: str, current: bool, **change: Any) -> dict[str, Any]:
        return {"label": label, "href": _compare_url(options, **change), "current": current}

    chart = options.chart
    return {
        "metric": [link(compare.METRIC_LABELS[m], options.metric == m, metric=m) for m in Metric],
        "mode": [
            link(label, options.mode == mode, mode=mode)
            for mode, label in compare.MODE_LABELS.items()
        ],
        "range": [
            link(RANGE_LABELS[value], not chart.custom_dates and chart.range == value, range=value)
            for value in RANGES
        ],
        "agg": [link(label, chart.agg == value, agg=value) for value, label in AGG_LABELS],
        "smooth": [
            link("Off", not chart.smooth, smooth=False),
            link("7-day average", chart.smooth, smooth=True),
        ],
        "scale": [link(label, chart.scale == value, scale=value) for value, label in SCALE_LABELS],
    }


def _context(
    request: HtmxHttpRequest, options: CompareOptions, errors: dict[str, str]
) -> dict[str, Any]:
    wanted = list(options.packages)
    if options.mode == "share_pypi":
        wanted.append(ALL_PACKAGES)
    packages = compare.packages_by_name(wanted)
    payload = compare.compare_payload(options, packages)
    charted = set(payload["packages"]) if payload else set()
    entries = []
    for name in options.packages:
        package = packages.get(name)
        entries.append(
            {
                "name": name,
                "package": package,
                "status": package_selectors.data_status(package),
                "charted": name in charted,
                "remove_href": _compare_url(
                    options, packages=tuple(n for n in options.packages if n != name)
                ),
            }
        )
    canonical = _compare_url(options)
    description = compare.describe(options, payload)
    return {
        "options": options,
        "errors": [f"{name}: {message}" for name, message in errors.items()],
        "payload": payload,
        # On the canvas as a data attribute, not json_script: htmx (allowScriptTags
        # false) drops every <script> of a swapped partial, JSON ones included.
        "payload_json": json.dumps(payload, separators=(",", ":")) if payload else "",
        "table_body": compare.table_body_html(payload) if payload else "",
        "entries": entries,
        "waiting": [e for e in entries if not e["charted"]],
        "controls": _controls(options),
        "category_choices": [
            (c, compare.category_label(options.metric, c))
            for c in compare.category_choices(options.metric)
        ],
        "canonical_url": canonical,
        # The current state as (name, value) pairs: hidden fields of the GET/POST forms.
        "state": options.pairs(),
        "share_url": request.build_absolute_uri(canonical),
        "querystring": options.querystring(),
        "page_title": description,
        "description": description,
        "max_packages": compare.MAX_PACKAGES,
        "room": compare.MAX_PACKAGES - len(options.packages),
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
        "teams": (
            [m.team for m in selectors.teams_for_user(request.user)]
            if request.user.is_authenticated
            else []
        ),
        "save_name": " vs ".join(options.packages)[:100],
    }


# --- the page -------------------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def compare_page(request: HtmxHttpRequest) -> HttpResponse:
    if "watchlist" in request.GET:
        return _from_watchlist(request)
    options, errors = compare.parse_compare(request.GET)
    canonical_query = options.querystring().removeprefix("?")
    is_canonical = request.META.get("QUERY_STRING", "") == canonical_query
    if not errors and not is_canonical and not is_partial(request):
        # Canonical names, order and no defaults: one view state, one URL. 302, not 301:
        # defaults may change one day, and a browser never forgets a 301.
        return HttpResponseRedirect(_compare_url(options))
    context = _context(request, options, errors)
    status = 400 if errors else 200
    if is_partial(request):
        response = render(request, TEMPLATE + "#compare-body", context, status=status)
        if not errors:
            response = push_url(response, context["canonical_url"])
        return response
    return render(request, TEMPLATE, context, status=status)


def _from_watchlist(request: HtmxHttpRequest) -> HttpResponse:
    """`?watchlist=<uid>`: the list's first packages as a comparison, for whoever may see it.

    The list is resolved once, access-checked (404 when the user may not see it), and
    the browser is sent to the plain `?packages=…` URL: that URL is the shareable one
    and shows only public download numbers, never the list itself.
    """
    if not request.user.is_authenticated:
        raise Http404("No such watchlist")
    acc = access.get_watchlist_for_viewer(request, request.GET.get("watchlist", ""))
    names = list(
        acc.watchlist.entries.order_by("package__name").values_list("package__name", flat=True)
    )[: compare.MAX_PACKAGES]
    query = request.GET.copy()
    query.pop("watchlist", None)
    query["packages"] = ",".join(names)
    options, _errors = compare.parse_compare(query)
    return HttpResponseRedirect(_compare_url(options))


@require_GET
@vary_on_headers("HX-Request")
def compare_suggest(request: HtmxHttpRequest) -> HttpResponse:
    """Suggestions for the "add a package" box: each one a link to the comparison with it."""
    query = request.GET.copy()
    # The add box sends what is typed as `add`, with the current state beside it.
    typed = query.pop("add", [""])[-1] or query.get("q", "")
    options, _errors = compare.parse_compare(query)
    results = search.suggest(typed)
    suggestions = []
    for package in results.matches:
        if package.name in options.packages:
            continue
        suggestions.append(
            {
                "name": package.name,
                "package": package,
                "href": _compare_url(options, packages=(*options.packages, package.name)),
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
            "href": _compare_url(options, packages=(*options.packages, results.offer)),
        }
    context = {
        "suggestions": suggestions[: compare.MAX_PACKAGES],
        "offer": offer,
        "q": typed,
        "full": len(options.packages) >= compare.MAX_PACKAGES,
        "max_packages": compare.MAX_PACKAGES,
        "valid": bool(results.key.strip("-")) and (bool(results.matches) or bool(results.offer)),
    }
    return render(request, TEMPLATE + "#suggestions", context)


# --- tracking from the page ------------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def compare_status(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The polled progress card of one package; 286 (htmx: stop) once there is an answer."""
    canonical = canonicalize(name)
    options, _errors = compare.parse_compare(request.GET)
    if not is_partial(request):
        return HttpResponseRedirect(_compare_url(options))
    package = package_selectors.package_for_page(canonical)
    status = package_selectors.data_status(package)
    entry = {"name": canonical, "package": package, "status": status}
    context = {
        "entry": entry,
        "options": options,
        "state": options.pairs(),
        "querystring": options.querystring(),
        "track_limit": settings.TRACK_LIMIT_PER_USER_PER_DAY,
    }
    body = render(request, TEMPLATE + "#status", context)
    if not status["done"]:
        return body
    stop = HttpResponseStopPolling(body.content)
    if status["state"] == "ready":
        # The first refresh landed: reload the comparison so the chart includes it.
        stop["HX-Refresh"] = "true"
    return stop


@require_POST
@login_required
def compare_track(request: HtmxHttpRequest) -> HttpResponse:
    """Start tracking one compared package (signed in; the daily per-user limit applies)."""
    options, _errors = compare.parse_compare(request.POST)
    try:
        name = canonicalize(request.POST.get("name", ""))
    except InvalidPackageName:
        messages.error(request, "That is not a valid package name.")
        return redirect(_compare_url(options))
    existing = Package.objects.filter(name=name).first()
    limit = settings.TRACK_LIMIT_PER_USER_PER_DAY
    if existing is None and package_selectors.packages_started_by_user_today(request.user) >= limit:
        messages.error(
            request,
            f"You have started tracking {limit} packages today, the daily limit. "
            "Try again tomorrow (UTC).",
        )
    elif existing is None or not existing.tracked or existing.paused:
        package_track(name=name, user=request.user)
        messages.success(request, f"Tracking {name}: its data arrives within a few minutes.")
    return redirect(_compare_url(options))


# --- saving as a watchlist --------------------------------------------------------------------


@require_POST
@login_required
def compare_save(request: HtmxHttpRequest) -> HttpResponse:
    """Save the compared packages as a new watchlist: personal, or of a team of the user's."""
    options, _errors = compare.parse_compare(request.POST)
    back = _compare_url(options)
    name = (request.POST.get("name") or "").strip()[:100] or " vs ".join(options.packages)[:100]
    if not options.packages:
        messages.error(request, "Add packages to the comparison before saving it.")
        return redirect(back)
    team = None
    team_uid = (request.POST.get("team") or "").strip()
    if team_uid:
        # Only a team the user is in; anything else is "no such team", not a hint it exists.
        team = next(
            (m.team for m in selectors.teams_for_user(request.user) if str(m.team.uid) == team_uid),
            None,
        )
        if team is None:
            messages.error(request, "You are not a member of that team.")
            return redirect(back)
    # The service locks the user's row through type(user): give it the model instance,
    # not the lazy request.user wrapper.
    user = get_user_model().objects.get(pk=request.user.pk or 0)
    try:
        with transaction.atomic():
            watchlist = services.watchlist_create(
                name=name,
                user=user,
                team=team,
                visibility=Visibility.TEAM if team else Visibility.PRIVATE,
            )
            result = services.watchlist_add_packages(
                watchlist=watchlist, names=list(options.packages), user=user
            )
    except services.RuleError as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(request, f"Saved as the watchlist {watchlist.name}.")
    for rejected, why in result.rejected:
        messages.warning(request, f"{rejected} was not added: {why}.")
    return redirect("watchlist_detail", uid=watchlist.uid)


# --- exports ------------------------------------------------------------------------------------


@require_GET
def compare_export(request: HtmxHttpRequest, fmt: str) -> HttpResponse:
    options, errors = compare.parse_compare(request.GET)
    if errors:
        return HttpResponse(
            "Invalid options: " + "; ".join(f"{k}: {v}" for k, v in errors.items()) + "\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    wanted = [*options.packages, *([ALL_PACKAGES] if options.mode == "share_pypi" else [])]
    payload = compare.compare_payload(options, compare.packages_by_name(wanted))
    if payload is None:
        raise Http404("No data is held for these packages in that window.")
    if fmt == "csv":
        body = compare.to_csv(payload)
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps(compare.export_json(payload), indent=1) + "\n"
        response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{compare.export_filename(payload, fmt)}"'
    )
    return response

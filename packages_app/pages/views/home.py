"""Home and search."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.http import (
    HttpRequest,
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from packages_app import soft_cache
from packages_app.http import is_partial
from packages_app.models import Package
from packages_app.page_cache import Identity, cached_page
from packages_app.pages import search, selectors


def home_identity(request: HttpRequest) -> Identity | None:
    """What decides the home page's bytes: the tracked packages, summed up in one query (a
    refresh moves data_version or its timestamps, tracking moves the count and ids) and the
    site's "data as of" (the movers' week). Not cached: a search, or nothing tracked yet."""
    if request.GET.get("q", "").strip():
        return None
    state = Package.objects.tracked().aggregate(
        n=Count("id"),
        ids=Sum("id"),
        versions=Sum("data_version"),
        refreshed=Max("last_refreshed_at"),
        failed=Max("last_error_at"),
        failures=Sum("consecutive_failures"),
        paused=Count("id", filter=Q(paused=True)),
        latest=Max("latest_date"),
    )
    if not state["n"]:
        return None
    return Identity(("home", tuple(sorted(state.items()))), last_modified=state["refreshed"])


@require_GET
@cached_page(home_identity)
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
    key = f"home:movers:v2:{as_of}:{timezone.now().date()}"
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

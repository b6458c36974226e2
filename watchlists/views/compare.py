"""A comparison as a watchlist and back: save the compared packages as a list, and open a
list as a comparison (`/compare/?watchlist=<uid>`). The compare page itself lives in
packages_app/pages/.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from packages_app.http import AuthenticatedHttpRequest, HtmxHttpRequest, login_required
from packages_app.pages.compare import MAX_PACKAGES, compare_url, parse_compare
from watchlists import access, selectors, services
from watchlists.models import Visibility


def open_watchlist(request: HtmxHttpRequest) -> HttpResponse:
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
    )[:MAX_PACKAGES]
    query = request.GET.copy()
    query.pop("watchlist", None)
    query["packages"] = ",".join(names)
    options, _errors = parse_compare(query)
    return HttpResponseRedirect(compare_url(options))


@require_POST
@login_required
def compare_save(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Save the compared packages as a new watchlist: personal, or of a team of the user's."""
    options, _errors = parse_compare(request.POST)
    back = compare_url(options)
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

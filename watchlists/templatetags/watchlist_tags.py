"""Watchlist forms on packages_app's pages: `{% add_to_watchlist name %}` (package page) and
`{% save_comparison packages state canonical_url %}` (compare page). Both depend on who asks:
the pages place them with `{% per_request %}` (templates/_per_request.html).

Template tags, so packages_app's views need not know about watchlists; they query
only for a signed-in user (anonymous pages keep their query count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django import template
from django.urls import Resolver404, resolve

from watchlists import selectors
from watchlists.models import Invitation, Watchlist

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from packages_app.history.breakdown_keys import ListCell
    from watchlists.columns import ColumnValues

register = template.Library()


@register.inclusion_tag("watchlists/_add_to_watchlist.html", takes_context=True)
def add_to_watchlist(context: template.Context, name: str) -> dict[str, object]:
    request = context.get("request")
    user: User | AnonymousUser | None = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    # Every list a user can open by uid they may also add packages to (access.py).
    lists = list(Watchlist.objects.visible_to(user).order_by("name").values("uid", "name"))
    return {"show": True, "name": name, "lists": lists, "csrf_token": context.get("csrf_token")}


@register.inclusion_tag("watchlists/_save_comparison.html", takes_context=True)
def save_comparison(
    context: template.Context,
    packages: Sequence[str],
    state: Sequence[Sequence[str]],
    canonical_url: str,
) -> dict[str, object]:
    """The compare page's "save as watchlist" form (a login link for anonymous readers):
    the compared packages, the options as (name, value) pairs and the canonical URL."""
    request = context.get("request")
    user: User | AnonymousUser | None = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "show": signed_in,
        "state": state,
        "save_name": " vs ".join(packages)[:100],
        "teams": [m.team for m in selectors.teams_for_user(user)]
        if user is not None and user.is_authenticated
        else [],
        "canonical_url": canonical_url,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("watchlists/_invitation_note.html")
def invitation_note(next_url: str) -> dict[str, object]:
    """On the login and signup pages: which team invites, when `next` is an invitation link.

    Only for a pending invitation: whoever holds a dead link learns nothing about the team
    (as on the invitation page itself).
    """
    try:
        match = resolve(urlsplit(next_url or "").path)
    except Resolver404:
        return {}
    if match.url_name != "invitation":
        return {}
    invitation = (
        Invitation.objects.select_related("team", "created_by")
        .filter(token=match.kwargs.get("token", ""))
        .first()
    )
    if invitation is None or invitation.state != Invitation.State.PENDING:
        return {}
    return {"invitation": invitation, "next_url": next_url}


@register.filter
def column_cell(values: ColumnValues, name: str) -> ListCell | None:
    """A package's cell of the list's breakdown column (watchlists/columns.py), if any."""
    return values.cells.get(name)

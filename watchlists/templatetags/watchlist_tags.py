"""`{% add_to_watchlist name %}`: the package page's "add to watchlist" form.

A template tag, so packages_app's views need not know about watchlists; it queries
only for a signed-in user (anonymous pages keep their query count).
"""

from __future__ import annotations

from typing import Any

from django import template

from ..models import Watchlist

register = template.Library()


@register.inclusion_tag("watchlists/_add_to_watchlist.html", takes_context=True)
def add_to_watchlist(context: template.Context, name: str) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    # Every list a user can open by uid they may also add packages to (access.py).
    lists = list(Watchlist.objects.visible_to(user).order_by("name").values("uid", "name"))
    return {"show": True, "name": name, "lists": lists, "csrf_token": context.get("csrf_token")}

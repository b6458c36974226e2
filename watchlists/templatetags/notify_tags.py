"""{% notify_section %}: the digest and alerts box of the watchlist page."""

from __future__ import annotations

from django import template

from watchlists.notify import selectors as notify_selectors

register = template.Library()


@register.inclusion_tag("watchlists/_notify_section.html", takes_context=True)
def notify_section(context: template.Context) -> dict[str, object]:
    request = context["request"]
    watchlist = context["watchlist"]
    acc = context["access"]
    return {
        "watchlist": watchlist,
        "access": acc,
        "subscribed": notify_selectors.is_subscribed(watchlist, request.user),
        "rule_count": watchlist.alert_rules.count(),
        "csrf_token": context.get("csrf_token"),
    }

"""Small formatting filters for the digest and alert emails."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """+12.3% / -4.0% / n/a."""
    if value is None:
        return "n/a"
    return f"{value:+.1f}%"


@register.filter
def num(value: float | int | None) -> str:
    """12,345 (whole numbers) / n/a."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}"

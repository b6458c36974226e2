"""Template filters of the chart pages: numbers formatted as their tables print them."""

from __future__ import annotations

from django import template

from packages_app.pages.chart import cell

register = template.Library()


@register.filter
def percent(value: float | None, decimals: int = 2) -> str:
    """A percentage as the data tables print it: "12.35%", "0.000031%" (never "0.00%" for
    a share that is small but not zero), "—" for None."""
    return cell(value, percent=True, percent_decimals=int(decimals))

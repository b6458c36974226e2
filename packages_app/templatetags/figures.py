"""How every page writes a change and a package's name (issue #14: one meaning per label).

`{% change_pct 12.34 %}` (a percentage) or `{% change_pct fraction=0.1234 %}`: an arrow
and a colour only for a change that is still one once rounded as shown, so a 0.04 % rise
reads "0%", not a green "▲ 0%". `{{ name|package_label }}`: upstream's `__all__`
pseudo-package reads "All of PyPI".
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from packages_app.names import ALL_PACKAGES

register = template.Library()


def _shown(percent: float) -> str:
    """Whole percents from 10 % up, one decimal below: "212%", "-3.5%"."""
    return f"{percent:.0f}" if abs(percent) >= 10 else f"{percent:.1f}"


@register.simple_tag
def change_pct(percent: float | None = None, *, fraction: float | None = None) -> SafeString:
    if fraction is not None:
        percent = fraction * 100
    if percent is None:
        return format_html('<span class="muted">{}</span>', "—")
    shown = _shown(percent)
    if float(shown) == 0:
        return format_html('<span class="muted">{}</span>', "0%")
    if percent > 0:
        return format_html('<span class="up">▲ {}%</span>', shown)
    return format_html('<span class="down">▼ {}%</span>', shown.lstrip("-"))


@register.filter
def package_label(name: str) -> str:
    return "All of PyPI" if name == ALL_PACKAGES else name

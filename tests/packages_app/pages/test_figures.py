"""How a change reads on every page (packages_app/templatetags/figures.py)."""

from __future__ import annotations

import pytest
from django.template import Context, Template


def render(source: str, **context: object) -> str:
    return Template("{% load figures %}" + source).render(Context(context))


@pytest.mark.parametrize(
    ("percent", "html"),
    [
        (None, '<span class="muted">—</span>'),
        (0.0, '<span class="muted">0%</span>'),
        (0.04, '<span class="muted">0%</span>'),  # rounds to zero: no green arrow
        (-0.04, '<span class="muted">0%</span>'),
        (0.05, '<span class="up">▲ 0.1%</span>'),
        (3.456, '<span class="up">▲ 3.5%</span>'),
        (-3.456, '<span class="down">▼ 3.5%</span>'),
        (212.4, '<span class="up">▲ 212%</span>'),
        (-50.0, '<span class="down">▼ 50%</span>'),
    ],
)
def test_change_pct(percent: float | None, html: str) -> None:
    assert render("{% change_pct p %}", p=percent) == html


def test_change_pct_takes_a_fraction() -> None:
    assert render("{% change_pct fraction=f %}", f=0.25) == '<span class="up">▲ 25%</span>'
    assert render("{% change_pct fraction=f %}", f=0.0001) == '<span class="muted">0%</span>'
    assert render("{% change_pct fraction=f %}", f=None) == '<span class="muted">—</span>'


def test_package_label() -> None:
    assert render("{{ n|package_label }}", n="__all__") == "All of PyPI"
    assert render("{{ n|package_label }}", n="flask") == "flask"

"""`{% per_request "part" name=value… %}`: a part of templates/_per_request.html that depends on who asks
(sign-in links, messages, the site's "data as of").

Rendered in place as any include; while a page renders for the page cache
(packages_app/page_cache.py), a marker instead, which each request replaces with the part
rendered for it.
"""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from packages_app import page_cache

register = template.Library()


@register.simple_tag(takes_context=True)
def per_request(context: template.Context, part: str, **values: object) -> SafeString:
    """`values`: what the part needs from the page, as JSON values (kept in the cache entry)."""
    state = page_cache.rendering(context.get("request"))
    if state is not None:
        return mark_safe(state.marker(part, values))  # noqa: S308  (a fixed HTML comment)
    assert context.template is not None  # a tag renders inside a template
    part_template = context.template.engine.get_template(f"{page_cache.PARTS_TEMPLATE}#{part}")
    with context.push(values):
        return mark_safe(part_template.render(context))  # noqa: S308  (a rendered template)

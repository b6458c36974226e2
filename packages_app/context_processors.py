from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from packages_app import page_cache
from packages_app.pages import selectors


def site(request: HttpRequest) -> dict[str, object]:
    """Site-wide template values: the name, the demo flag, the upstream's host and "data as
    of"."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEMO_UPSTREAM": settings.DEMO_UPSTREAM,
        "UPSTREAM_HOST": urlsplit(settings.PYPISTATS_API_URL).netloc,
        # A developer's machine (`make run`) that cannot reach upstream: `make demo` works
        # offline. Never said in production (DEBUG off) or in the demo itself.
        "SUGGEST_DEMO": settings.DEBUG and not settings.DEMO_UPSTREAM,
        "data_as_of": selectors.site_data_as_of,
        # While a page renders for the page cache: a marker for the CSRF token, no messages.
        **page_cache.context_overrides(request),
    }

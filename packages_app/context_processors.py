from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from packages_app.pages import selectors


def site(request: HttpRequest) -> dict[str, object]:
    """Site-wide template values: the name, the demo flag and "data as of"."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEMO_UPSTREAM": settings.DEMO_UPSTREAM,
        "data_as_of": selectors.site_data_as_of,
    }

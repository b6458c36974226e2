from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from . import selectors


def site(request: HttpRequest) -> dict[str, Any]:
    """Site-wide template values: the name, the demo flag and "data as of"."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "DEMO_UPSTREAM": settings.DEMO_UPSTREAM,
        "data_as_of": selectors.site_data_as_of,
    }

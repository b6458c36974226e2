"""URLs under /api/: the compatible JSON API, its OpenAPI document and its docs page.

Package names are matched loosely (one path segment) and validated in the view, so
that every bad name, every trailing slash and every unknown path under /api/ gets
upstream's text `404`, never Django's HTML 404 page.
"""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from packages_app.api import ext
from packages_app.api import views as api

app_name = "api"

# One package's answer; the API's fast path (fastpath.py) answers the same route.
ENDPOINT_ROUTE = rf"^packages/(?P<name>[^/]+)/(?P<endpoint>{'|'.join(api.TYPES)})\Z"

urlpatterns: list[URLPattern] = [
    path("", api.docs, name="docs"),
    path("openapi.yml", api.openapi, name="openapi"),
    re_path(ENDPOINT_ROUTE, api.package_endpoint, name="endpoint"),
    # Our own breakdowns (issue #16), not upstream's: under ext/, in the same style.
    re_path(
        rf"^ext/packages/(?P<name>[^/]+)/(?P<kind>{'|'.join(ext.TYPES)})\Z",
        ext.package_breakdown,
        name="ext-breakdown",
    ),
    re_path(r"^(?P<rest>.*)\Z", api.not_found, name="not-found"),
]

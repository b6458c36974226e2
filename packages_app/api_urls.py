"""URLs under /api/: the compatible JSON API, its OpenAPI document and its docs page.

Package names are matched loosely (one path segment) and validated in the view, so
that every bad name, every trailing slash and every unknown path under /api/ gets
upstream's text `404`, never Django's HTML 404 page.
"""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from . import api

app_name = "api"

urlpatterns: list[URLPattern] = [
    path("", api.docs, name="docs"),
    path("openapi.yml", api.openapi, name="openapi"),
    re_path(
        r"^packages/(?P<name>[^/]+)/(?P<endpoint>recent|overall|python_major|python_minor|system)\Z",
        api.package_endpoint,
        name="endpoint",
    ),
    re_path(r"^(?P<rest>.*)\Z", api.not_found, name="not-found"),
]

"""Every URL of the packages app: the compatible JSON API under /api/, then the pages."""

from __future__ import annotations

from django.urls import include, path

from packages_app.api.views import api_root_redirect

urlpatterns = [
    # /api/packages/<name>/<endpoint>, /api/openapi.yml, /api/ (packages_app/api/)
    path("api/", include("packages_app.api.urls")),
    # Upstream answers /api with a 308 to /api/ (Django's APPEND_SLASH would send a 301).
    path("api", api_root_redirect, name="api-root-redirect"),
    # Home, search, package pages, exports, badges and /compare/ (packages_app/pages/)
    path("", include("packages_app.pages.urls")),
]

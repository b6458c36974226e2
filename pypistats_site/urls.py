from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from packages_app.api import api_root_redirect
from packages_app.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("watchlists.account_urls")),
    # The compatible JSON API (packages_app/api.py): /api/packages/<name>/<endpoint>, /api/openapi.yml
    path("api/", include("packages_app.api_urls")),
    # Upstream answers /api with a 308 to /api/ (Django's APPEND_SLASH would send a 301).
    path("api", api_root_redirect, name="api-root-redirect"),
    # Teams and watchlists (watchlists/views.py): /watchlists/..., /teams/...
    path("", include("watchlists.urls")),
    # Comparison pages (watchlists/compare_views.py): /compare/
    path("compare/", include("watchlists.compare_urls")),
    path("", include("packages_app.urls")),
]

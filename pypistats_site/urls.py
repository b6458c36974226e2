from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from packages_app.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("watchlists.account_urls")),
    # The compatible JSON API (packages_app/api.py): /api/packages/<name>/<endpoint>, /api/openapi.yml
    path("api/", include("packages_app.api_urls")),
    # Teams and watchlists (watchlists/views.py): /watchlists/..., /teams/...
    path("", include("watchlists.urls")),
    # Comparison pages (watchlists/compare_views.py): /compare/
    path("compare/", include("watchlists.compare_urls")),
    path("", include("packages_app.urls")),
]

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from packages_app.health import favicon, healthz, status_page

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("status/", status_page, name="status"),
    path("favicon.ico", favicon, name="favicon"),
    # Accounts, teams, watchlists, digests and alerts: /accounts/, /teams/, /watchlists/...
    path("", include("watchlists.urls")),
    # The JSON API (/api/), the package and compare pages, search, badges.
    path("", include("packages_app.urls")),
]

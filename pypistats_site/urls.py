from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from packages_app.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("watchlists.account_urls")),
    path("", include("packages_app.urls")),
]

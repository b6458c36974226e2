"""A root URLconf that mounts the JSON API under /v2/ (the fast path must follow it)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("v2/", include("packages_app.api.urls"))]
